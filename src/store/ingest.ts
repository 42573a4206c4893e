import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { ok, type Result } from '../core/result.js';
import { hasBlob, linkIn, placeWritten, touch, writeTmp, type PutError, type PutResult } from './blobs.js';
import { syncFiles } from './durable.js';
import type { StoreIOError } from './errors.js';
import { ingestInWorkers } from './ingest-pool.js';
import { isDigest, type Digest } from './digest.js';
import { blobPath, type Layout } from './layout.js';
import type { IndexSession } from './index.js';

/**
 * Re-ingesting a tree should not re-hash it. Like git's index, a file whose device,
 * inode, size, mtime and ctime are unchanged is taken to have unchanged content;
 * ctime cannot be set from user space, so only a write within the same clock tick as
 * our read could slip through, and files changed that recently are never cached.
 */
const RACY_MS = 2000;
const PREFIX = 's/';

interface StatEntry {
  dev: number;
  ino: number;
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  digest: Digest;
}

export interface IngestResult {
  file: string;
  result: Result<PutResult, PutError>;
  /** the digest came from the stat cache; the file was not read */
  cached: boolean;
}

export interface IngestOptions {
  layout: Layout;
  files: string[];
  /** files put at once on this thread (default 8), when the ingest is too small for worker threads */
  concurrency?: number;
  /** worker threads for a bulk ingest (default: one per core, at most 8) */
  workers?: number;
  /** the index, for the stat cache; without it every file is hashed */
  withIndex?: <T>(fn: (s: IndexSession) => Promise<T>) => Promise<Result<T, unknown>>;
}

type Stat = Awaited<ReturnType<typeof statBig>>;
const statBig = (f: string) => stat(f, { bigint: true });

/** Puts many files; one result per file, in order. The index is held only briefly, twice. */
export async function ingestFiles(opts: IngestOptions): Promise<IngestResult[]> {
  const files = opts.files.map((f) => path.resolve(f));
  const stats = await Promise.all(files.map((f) => statBig(f).catch(() => undefined)));
  const known = opts.withIndex ? await readCache(opts.withIndex, files) : files.map(() => undefined);
  const results: IngestResult[] = new Array(files.length);
  const fresh: Array<[string, string]> = [];
  const toWrite: number[] = [];
  for (let i = 0; i < files.length; i++) {
    const st = stats[i];
    const hit = st ? matches(known[i], st) : undefined;
    if (hit && (await hasBlob(opts.layout, hit.digest))) {
      await touch(blobPath(opts.layout, hit.digest));
      results[i] = { file: files[i]!, result: ok({ digest: hit.digest, size: hit.size, existed: true }), cached: true };
    } else toWrite.push(i);
  }
  const bytes = toWrite.reduce((n, i) => n + Number(stats[i]?.size ?? 0), 0);
  // Worker threads cost ~20 ms each to start: worth it from a few dozen files or MB up.
  const pooled = toWrite.length >= POOL_MIN_FILES || bytes >= POOL_MIN_BYTES
    ? await ingestInWorkers({ layout: opts.layout, files, indices: toWrite, sizes: new Map(toWrite.map((i) => [i, Number(stats[i]?.size ?? 0)])), ...(opts.workers ? { workers: opts.workers } : {}) })
    : undefined;
  if (pooled) for (const [i, result] of pooled) results[i] = { file: files[i]!, result, cached: false };
  else await ingestHere(opts, files, toWrite, stats, results);
  for (const i of toWrite) {
    const result = results[i]!.result;
    const st = stats[i];
    if (result.ok && st && Date.now() - Number(st.ctimeMs) > RACY_MS) fresh.push([PREFIX + files[i]!, JSON.stringify(entryOf(st, result.value.digest))]);
  }
  // A failure to update the cache costs speed next time, never correctness.
  if (opts.withIndex && fresh.length) await opts.withIndex((s) => s.batch(fresh.map(([key, value]) => ({ type: 'put', key, value }))));
  return results;
}

/**
 * Takes in files the caller has just written, read-only, with content it hashed itself
 * (a wheelhouse's pages): one flush makes them all durable, as a put would, then each is
 * hard-linked in as its blob. The file is created once, where it is needed, and shared
 * with the store, instead of written to tmp/, linked in and linked out again. One result
 * per file, in order.
 */
export async function adoptFiles(opts: { layout: Layout; files: Array<{ file: string; digest: Digest }>; concurrency?: number }): Promise<Array<Result<boolean, StoreIOError>>> {
  const synced = await syncFiles(opts.files.map((f) => f.file));
  if (!synced.ok) return opts.files.map(() => synced);
  const limit = pLimit(opts.concurrency ?? 16);
  return Promise.all(opts.files.map((f) => limit(() => linkIn(opts.layout, f.file, f.digest))));
}

const POOL_MIN_FILES = 64;
const POOL_MIN_BYTES = 32 * 2 ** 20;

/** The in-thread ingest, for a few files: written to tmp/ a batch at a time, one flush per batch, then linked in. */
async function ingestHere(opts: IngestOptions, files: string[], toWrite: number[], stats: Array<Stat | undefined>, results: IngestResult[]): Promise<void> {
  // An fsync per file costs ~1 ms of journal commit each: the batch is flushed once.
  for (const batch of batches(toWrite, stats)) {
    const written = new Array<Awaited<ReturnType<typeof writeTmp>> | undefined>(batch.length);
    let next = 0;
    const worker = async () => {
      for (let k = next++; k < batch.length; k = next++) written[k] = await writeTmp(opts.layout, { file: files[batch[k]!]! }, { sync: false });
    };
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 8) }, worker));
    const tmps = written.flatMap((w) => (w?.ok ? [w.value.tmp] : []));
    const synced = await syncFiles(tmps);
    // Links go in several at a time: one after another they were a quarter of the ingest.
    const place = pLimit(16);
    await Promise.all(
      batch.map((i, k) =>
        place(async () => {
          const w = written[k]!;
          const result = !w.ok ? w : synced.ok ? await placeWritten(opts.layout, w.value) : (await rm(w.value.tmp, { force: true }), synced);
          results[i] = { file: files[i]!, result, cached: false };
        }),
      ),
    );
  }
}

const BATCH_BYTES = 256 * 2 ** 20;
const BATCH_FILES = 2000;

/** Consecutive groups of at most BATCH_FILES files or BATCH_BYTES bytes (one large file may exceed it alone). */
function* batches(indices: number[], stats: Array<Stat | undefined>): Generator<number[]> {
  let current: number[] = [];
  let bytes = 0;
  for (const i of indices) {
    const size = Number(stats[i]?.size ?? 0);
    if (current.length && (current.length >= BATCH_FILES || bytes + size > BATCH_BYTES)) {
      yield current;
      current = [];
      bytes = 0;
    }
    current.push(i);
    bytes += size;
  }
  if (current.length) yield current;
}

async function readCache(withIndex: NonNullable<IngestOptions['withIndex']>, files: string[]): Promise<Array<StatEntry | undefined>> {
  const got = await withIndex((s) => s.db.getMany(files.map((f) => PREFIX + f)));
  if (!got.ok) return files.map(() => undefined);
  return got.value.map((v) => {
    if (v === undefined) return undefined;
    try {
      const e = JSON.parse(v) as StatEntry;
      return isDigest(e.digest) ? e : undefined;
    } catch {
      return undefined;
    }
  });
}

function entryOf(st: Stat, digest: Digest): StatEntry {
  return { dev: Number(st.dev), ino: Number(st.ino), size: Number(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs), digest };
}

function matches(e: StatEntry | undefined, st: Stat): StatEntry | undefined {
  if (!e || !st.isFile()) return undefined;
  const same = e.dev === Number(st.dev) && e.ino === Number(st.ino) && e.size === Number(st.size) && e.mtimeNs === String(st.mtimeNs) && e.ctimeNs === String(st.ctimeNs);
  return same ? e : undefined;
}

export const STAT_CACHE_PREFIX = PREFIX;
