import { createReadStream, type ReadStream } from 'node:fs';
import { link, mkdir, open, readdir, rm, stat, utimes, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { err, ok, type Result } from '../core/result.js';
import { CHUNK, digestOf, newHasher, type Digest } from './digest.js';
import { BlobNotFoundError, describe, DigestMismatchError, SourceReadError, StoreIOError } from './errors.js';
import { blobPath, tmpName, type Layout } from './layout.js';

/** What `put` accepts: a file by path, or any stream (or list) of byte chunks. */
export type PutSource = { file: string } | Readable | AsyncIterable<Uint8Array | string> | Iterable<Uint8Array>;

export interface PutOptions {
  /** the digest the content must have; on a mismatch nothing is stored */
  expected?: Digest;
  /** names the source in errors when it is a stream */
  label?: string;
}

export interface PutResult {
  digest: Digest;
  size: number;
  /** the blob was already there; nothing was written */
  existed: boolean;
}

export interface BlobStat {
  digest: Digest;
  size: number;
  mtime: Date;
  path: string;
}

export type PutError = DigestMismatchError | SourceReadError | StoreIOError;

export async function hasBlob(l: Layout, d: Digest): Promise<boolean> {
  try {
    await stat(blobPath(l, d));
    return true;
  } catch {
    return false;
  }
}

export async function statBlob(l: Layout, d: Digest): Promise<Result<BlobStat, BlobNotFoundError>> {
  const p = blobPath(l, d);
  try {
    const s = await stat(p);
    return ok({ digest: d, size: s.size, mtime: s.mtime, path: p });
  } catch {
    return err(new BlobNotFoundError(d));
  }
}

/** Opens before returning, so a missing blob is an error value rather than a stream error later. */
export async function getBlob(l: Layout, d: Digest): Promise<Result<ReadStream, BlobNotFoundError>> {
  let fh: FileHandle;
  try {
    fh = await open(blobPath(l, d), 'r');
  } catch {
    return err(new BlobNotFoundError(d));
  }
  return ok(fh.createReadStream({ highWaterMark: CHUNK }));
}

/** A blob written to tmp/ and hashed, not yet durable nor in place. */
export interface WrittenBlob {
  tmp: string;
  digest: Digest;
  size: number;
}

/**
 * Copies the source into a tmp file while hashing it. `sync` fsyncs the file;
 * bulk ingest leaves it off and makes a whole batch durable at once (syncBatch).
 */
export async function writeTmp(l: Layout, source: PutSource, opts: PutOptions & { sync: boolean }): Promise<Result<WrittenBlob, PutError>> {
  if ('file' in source) {
    const small = await writeSmallFile(l, source.file, opts);
    if (small !== undefined) return small;
  }
  const label = 'file' in source ? source.file : (opts.label ?? 'stream');
  const input = await openSource(source, label);
  if (!input.ok) return input;
  const tmp = tmpName(l, 'blob');
  let out: FileHandle;
  try {
    out = await open(tmp, 'wx', 0o444);
  } catch (e: unknown) {
    input.value.close();
    return err(new StoreIOError(tmp, describe(e)));
  }
  const copied = await copyHashing(input.value.chunks, out, label);
  input.value.close();
  const synced = copied.ok && opts.sync ? await out.sync().then(() => null, (e: unknown) => e) : null;
  await out.close().catch(() => undefined);
  const fail = async <E>(e: E) => {
    await rm(tmp, { force: true });
    return err(e);
  };
  if (!copied.ok) return fail(copied.error);
  if (synced !== null) return fail(new StoreIOError(tmp, describe(synced)));
  const { digest, size } = copied.value;
  if (opts.expected && opts.expected !== digest) return fail(new DigestMismatchError(opts.expected, digest, label));
  return ok({ tmp, digest, size });
}

/**
 * A file of at most CHUNK bytes in one read and one write: the stream machinery cost more
 * than the bytes (2,000 files of 5 KB took 3.2 s through streams). undefined: not a small
 * regular file, the general path handles it (and its errors).
 */
async function writeSmallFile(l: Layout, file: string, opts: PutOptions & { sync: boolean }): Promise<Result<WrittenBlob, PutError> | undefined> {
  let data: Buffer;
  try {
    const fh = await open(file, 'r');
    try {
      const st = await fh.stat();
      // size 0 goes the general way: /proc files say 0 and hold more (or fail to read).
      if (!st.isFile() || st.size === 0 || st.size > CHUNK) return undefined;
      data = Buffer.allocUnsafe(st.size);
      let off = 0;
      while (off < st.size) {
        const { bytesRead } = await fh.read(data, off, st.size - off, off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      data = data.subarray(0, off);
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
  const digest = digestOf(newHasher().update(data));
  if (opts.expected && opts.expected !== digest) return err(new DigestMismatchError(opts.expected, digest, file));
  const tmp = tmpName(l, 'blob');
  try {
    const out = await open(tmp, 'wx', 0o444);
    try {
      await writeAll(out, data);
      if (opts.sync) await out.sync();
    } finally {
      await out.close();
    }
  } catch (e: unknown) {
    await rm(tmp, { force: true });
    return err(new StoreIOError(tmp, describe(e)));
  }
  return ok({ tmp, digest, size: data.byteLength });
}

/** Links a written (and durable) tmp file in as its blob, then drops the tmp name. */
export async function placeWritten(l: Layout, w: WrittenBlob): Promise<Result<PutResult, StoreIOError>> {
  const placed = await linkIn(l, w.tmp, w.digest);
  await rm(w.tmp, { force: true });
  if (!placed.ok) return placed;
  return ok({ digest: w.digest, size: w.size, existed: placed.value });
}

/**
 * tmp file → fsync → link into place. link, unlike rename, never replaces: when
 * another process got the same content in first, ours is dropped and both succeed.
 */
export async function putBlob(l: Layout, source: PutSource, opts: PutOptions = {}): Promise<Result<PutResult, PutError>> {
  const written = await writeTmp(l, source, { ...opts, sync: true });
  if (!written.ok) return written;
  return placeWritten(l, written.value);
}

/** Links `tmp` (a durable file with that content) in as the blob `digest`; true when the blob was already there. */
export async function linkIn(l: Layout, tmp: string, digest: Digest): Promise<Result<boolean, StoreIOError>> {
  const final = blobPath(l, digest);
  for (let attempt = 0; ; attempt++) {
    try {
      await link(tmp, final);
      return ok(false);
    } catch (e: unknown) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        await touch(final);
        return ok(true);
      }
      if (code === 'ENOENT' && attempt === 0) {
        await mkdir(path.dirname(final), { recursive: true }).catch(() => undefined);
        continue;
      }
      return err(new StoreIOError(final, describe(e)));
    }
  }
}

/** Fresh mtimes for blobs in use that no record names yet (Store.keepAlive). */
export async function touchBlobs(l: Layout, digests: Iterable<Digest>): Promise<void> {
  await Promise.all([...new Set(digests)].map((d) => touch(blobPath(l, d))));
}

/** A fresh mtime tells gc's grace period that someone just asked for this blob. */
export async function touch(file: string): Promise<void> {
  const now = new Date();
  await utimes(file, now, now).catch(() => undefined);
}

interface OpenedSource {
  chunks: AsyncIterable<Uint8Array | string>;
  close(): void;
}

async function openSource(source: PutSource, label: string): Promise<Result<OpenedSource, SourceReadError>> {
  if (!('file' in source)) {
    const chunks = Symbol.asyncIterator in source ? source : (async function* () { yield* source; })();
    return ok({ chunks, close: () => undefined });
  }
  let fh: FileHandle;
  let size: number;
  try {
    fh = await open(source.file, 'r');
    const s = await fh.stat();
    size = s.size;
    if (!s.isFile()) {
      await fh.close();
      return err(new SourceReadError(label, s.isDirectory() ? 'it is a directory' : 'it is not a regular file'));
    }
  } catch (e: unknown) {
    return err(new SourceReadError(label, describe(e)));
  }
  // A buffer the file's size, not CHUNK: a 1 MiB buffer for each of 2,000 small files made
  // ingest spend most of its time collecting garbage (4.3 s for 10 MiB; ostree took 2.2 s).
  const stream = fh.createReadStream({ highWaterMark: Math.max(1, Math.min(CHUNK, size)) });
  return ok({ chunks: stream, close: () => stream.destroy() });
}

/** Hashes and writes each chunk; one write stays in flight so reading, hashing and writing overlap. */
async function copyHashing(
  chunks: AsyncIterable<Uint8Array | string>,
  out: FileHandle,
  label: string,
): Promise<Result<{ digest: Digest; size: number }, SourceReadError | StoreIOError>> {
  const hash = newHasher();
  let size = 0;
  let pending: Promise<unknown> = Promise.resolve();
  let writeError: unknown = null;
  const iterator = chunks[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Uint8Array | string>;
    try {
      next = await iterator.next();
    } catch (e: unknown) {
      await pending;
      return err(new SourceReadError(label, describe(e)));
    }
    if (next.done) break;
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    hash.update(chunk);
    size += chunk.byteLength;
    await pending;
    if (writeError !== null) break;
    pending = writeAll(out, chunk).catch((e: unknown) => (writeError = e));
  }
  await pending;
  if (writeError !== null) {
    await iterator.return?.();
    return err(new StoreIOError(label, describe(writeError)));
  }
  return ok({ digest: digestOf(hash), size });
}

async function writeAll(out: FileHandle, chunk: Uint8Array): Promise<void> {
  let off = 0;
  while (off < chunk.byteLength) {
    const { bytesWritten } = await out.write(chunk, off, chunk.byteLength - off);
    off += bytesWritten;
  }
}

export type BlobEntry = { kind: 'blob'; digest: Digest; path: string } | { kind: 'stray'; path: string };

/** Every file under blobs/sha256, in name order; files whose names are not digests come as strays. */
export async function* listBlobs(l: Layout): AsyncGenerator<BlobEntry> {
  const fans = (await readdir(l.blobs).catch(() => [] as string[])).sort();
  for (const fan of fans) {
    const dir = path.join(l.blobs, fan);
    if (!/^[0-9a-f]{2}$/.test(fan)) {
      yield { kind: 'stray', path: dir };
      continue;
    }
    const names = (await readdir(dir).catch(() => [] as string[])).sort();
    for (const name of names) {
      const p = path.join(dir, name);
      if (/^[0-9a-f]{62}$/.test(name)) yield { kind: 'blob', digest: `sha256:${fan}${name}`, path: p };
      else yield { kind: 'stray', path: p };
    }
  }
}

/** Re-reads a blob and returns what its content hashes to. */
export async function hashFile(file: string): Promise<Digest> {
  const hash = newHasher();
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) hash.update(chunk as Buffer);
  return digestOf(hash);
}
