import path from 'node:path';
import type { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import { err, ok, type Result } from '../../core/result.js';
import { openCompressed as openTar, type Compression } from '../../archive/decompress-stream.js';
import { ArchiveInputError as InputFailure, DecompressError as DecompressFailure } from '../../archive/errors.js';
import { EntryReader, STREAM_FROM, type StreamBlob, type TarballLimits } from './entries.js';
import {
  TarballCorruptError,
  TarballEmptyError,
  TarballFormatError,
  TarballLinkEscapeError,
  TarballReadError,
  TarballWriteError,
  type TarballError,
} from './errors.js';
import { ExistingObjects } from './existing.js';
import { hashObject } from './objects.js';
import { PackWriter, ShortObjectError } from './pack.js';

export type { TarballLimits };

/** Defaults of weld.toml's `[mirror] max_unpacked_size` and `max_entries`. */
export const DEFAULT_LIMITS: TarballLimits = { maxUnpackedBytes: 8 * 1024 ** 3, maxEntries: 1_000_000 };

export interface TarballImport {
  /** root tree oid, after stripping the single top directory */
  tree: string;
  /** the stripped directory name */
  topDir: string;
  /** blobs referenced by the tree (files + symlinks; a hard link counts as a file) */
  files: number;
  /** uncompressed bytes of regular file content in the tree */
  bytes: number;
  /** newest entry mtime in seconds: the caller uses it as the commit date */
  mtime: number;
  /** what git cannot store, by path inside the tree: `.git` entries, empty directories */
  skipped: Array<{ path: string; reason: string }>;
}

// File content waiting to be deflated and written, at most: bounds memory while
// letting deflate on the threadpool run ahead of parsing on the main thread.
const MAX_PENDING_BYTES = 32 * 1024 * 1024;

/**
 * Imports a release tarball (gzip, xz, bzip2 or plain tar) into `gitdir` as blob and
 * tree objects, written as one new pack, and returns the root tree. Files never touch
 * the file system. On any failure the repository is left exactly as it was; refs and
 * commits are the caller's.
 */
export async function importTarball(opts: {
  gitdir: string;
  input: Readable;
  source: string;
  /** refuse archives past these (each defaults to DEFAULT_LIMITS') */
  limits?: Partial<TarballLimits>;
  /** files of at least this many bytes are streamed into the pack, not held whole (tests lower it) */
  streamFrom?: number;
  onProgress?: (p: { bytes: number; files: number }) => void;
}): Promise<Result<TarballImport, TarballError>> {
  const { gitdir, input, source } = opts;
  const limits = { ...DEFAULT_LIMITS, ...definedOnly(opts.limits ?? {}) };
  let opened: Awaited<ReturnType<typeof openTar>>;
  try {
    opened = await openTar(input);
  } catch (e) {
    input.destroy();
    return err(new TarballReadError(source, message(e)));
  }
  if (opened.kind === 'empty') return err(new TarballEmptyError(source, 'the input is empty (0 bytes)'));
  if (opened.kind === 'unsupported') {
    return err(new TarballFormatError(source, undefined, `is ${opened.format} data, which weld does not read`));
  }
  const { chunks, compression } = opened;

  let pack: PackWriter;
  try {
    const existing = await ExistingObjects.load(gitdir);
    pack = await PackWriter.create({ dir: path.join(gitdir, 'objects', 'pack'), exists: (oid) => existing.has(oid) });
  } catch (e) {
    await chunks.return(undefined);
    input.destroy();
    return err(new TarballWriteError(source, gitdir, message(e)));
  }

  let finished = false;
  const streamBlob: StreamBlob = async ({ entry, size, data, drain }) => {
    try {
      return await pack.addStream({ size, data, drain });
    } catch (e) {
      if (e instanceof ShortObjectError) return new TarballCorruptError(source, entry, `the tar data ends inside this entry (${e.got} of ${e.size} bytes)`);
      if (isSystemError(e)) return new TarballWriteError(source, gitdir, e.message);
      // stopped because of another failure, which is the one reported
      if (reader.aborted || reader.failure) return reader.failure ?? new TarballCorruptError(source, entry, 'the import stopped inside this entry');
      throw e;
    }
  };
  const reader = new EntryReader({
    source,
    limits,
    streamFrom: opts.streamFrom ?? STREAM_FROM,
    addObject: (type, oid, content) => pack.add(type, oid, content),
    streamBlob,
    onProgress: opts.onProgress,
  });
  try {
    const failure = await readArchive({ source, gitdir, chunks, compression, reader, pack });
    if (failure) {
      input.destroy();
      return err(failure);
    }
    const topDir = reader.topDir;
    // only `./` entries
    if (topDir === undefined) return err(new TarballEmptyError(source, 'holds only directories, no files'));
    const escape = reader.tree.findEscapingLink();
    if (escape) {
      const why = escape.why === 'loop' ? 'which loops through more than 40 symlinks' : 'which resolves outside the tree';
      return err(new TarballLinkEscapeError(source, `${topDir}/${escape.path}`, `is a symlink to "${escape.target}", ${why}`));
    }
    const skipped = reader.skipped;
    const root = reader.tree.write({
      emit: (content) => {
        const oid = hashObject('tree', content);
        pack.add('tree', oid, content);
        return oid;
      },
      onEmptyDir: (p) => skipped.push({ path: p, reason: 'an empty directory; git stores no directory without files' }),
    });
    if (root === undefined) {
      const why = skipped.length > 0 ? 'holds no files git can store' : 'holds only directories, no files';
      return err(new TarballEmptyError(source, why));
    }
    try {
      await pack.finish();
      finished = true;
    } catch (e) {
      return err(new TarballWriteError(source, gitdir, message(e)));
    }
    let files = 0;
    let bytes = 0;
    for (const { leaf } of reader.tree.leaves()) {
      files++;
      if (leaf.mode !== '120000') bytes += leaf.size;
    }
    return ok({ tree: root.toString('hex'), topDir, files, bytes, mtime: reader.mtime, skipped });
  } finally {
    if (!finished) {
      reader.abort();
      await pack.discard();
    }
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Feeds the tar bytes through the parser into `reader`; returns the first failure. */
async function readArchive(opts: {
  source: string;
  gitdir: string;
  chunks: AsyncGenerator<Buffer, void, undefined>;
  compression: Compression;
  reader: EntryReader;
  pack: PackWriter;
}): Promise<TarballError | undefined> {
  const { source, chunks, compression, reader, pack } = opts;
  let sawEnd = false;
  const parser = new Parser({
    strict: false,
    // decompression is ours, by magic bytes; the parser should see plain tar only
    brotli: false,
    zstd: false,
    onwarn: (code, msg, data) => {
      const warning = tarWarning({ source, code, message: msg, entry: (data as { entry?: ReadEntry }).entry?.path, seenEntries: reader.entries });
      if (warning) reader.fail(warning);
    },
  });
  parser.on('entry', (e: ReadEntry) => reader.onEntry(e));
  parser.on('ignoredEntry', (e: ReadEntry) => reader.onIgnored(e));
  parser.on('nullBlock', () => (sawEnd = true));
  parser.on('eof', () => (sawEnd = true));
  parser.on('error', (e: unknown) => reader.fail(new TarballCorruptError(source, undefined, message(e))));

  // A paused entry (a big file waiting its turn in the pack) makes write() return
  // false; the next chunk waits for 'drain', so only one chunk is ever held back.
  const write = async (c: Buffer) => {
    if (!parser.write(c)) await new Promise((resolve) => parser.once('drain', resolve));
  };
  const ended = new Promise((resolve) => parser.once('end', resolve));
  let head: Buffer | undefined = Buffer.alloc(0);
  try {
    for await (const chunk of chunks) {
      if (head !== undefined) {
        // The parser would quietly gunzip a second layer, asynchronously; refuse it instead.
        head = Buffer.concat([head, chunk]);
        if (head.length < 2) continue;
        if (head[0] === 0x1f && head[1] === 0x8b) {
          return new TarballFormatError(source, undefined, `holds gzip data inside ${compression === 'none' ? 'gzip' : compression} data, not a tar archive`);
        }
        const first = head;
        head = undefined;
        await write(first);
      } else {
        await write(chunk);
      }
      if (reader.failure) return reader.failure;
      await pack.settle(MAX_PENDING_BYTES);
    }
    if (head !== undefined && head.length > 0) await write(head);
    parser.end();
    // entries and the end marker behind a big file are emitted once it is read
    await ended;
    await reader.settled();
  } catch (e) {
    if (e instanceof InputFailure) return new TarballReadError(source, e.message);
    // the decompressors' own words ("error code 8") would not help a packager
    if (e instanceof DecompressFailure) return new TarballCorruptError(source, undefined, `the ${compression} data is truncated or damaged`);
    if (isSystemError(e)) return new TarballWriteError(source, opts.gitdir, e.message);
    throw e;
  } finally {
    // stops the input when leaving early; a no-op once it is exhausted
    await chunks.return(undefined);
  }
  if (reader.failure) return reader.failure;
  if (reader.entries === 0) {
    if (sawEnd) return new TarballEmptyError(source, 'the archive holds no entries');
    const inside = compression === 'none' ? '' : ` (the ${compression} data decompresses to something else)`;
    return new TarballFormatError(source, undefined, `is not a tar archive${inside}`);
  }
  if (!sawEnd) return new TarballCorruptError(source, undefined, 'the tar data stops without an end-of-archive marker, so entries may be missing');
  return undefined;
}

function tarWarning(opts: { source: string; code: string; message: string; entry: string | undefined; seenEntries: number }): TarballError | undefined {
  const { source, code, message: msg, entry } = opts;
  if (code === 'TAR_BAD_ARCHIVE' && msg.startsWith('Truncated input')) {
    return new TarballCorruptError(source, entry, 'the tar data ends inside this entry');
  }
  // judged at the end, from what was seen: empty, or not tar at all
  if (code === 'TAR_BAD_ARCHIVE' && msg === 'Unrecognized archive format') return undefined;
  if (code === 'TAR_ENTRY_INVALID' && opts.seenEntries === 0) return new TarballFormatError(source, undefined, `is not a tar archive (${msg} in the first header)`);
  return new TarballCorruptError(source, entry, `damaged tar header after ${opts.seenEntries} entries (${msg})`);
}

function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
