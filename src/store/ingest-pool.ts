import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { err, ok, type Result } from '../core/result.js';
import type { Digest } from './digest.js';
import { syncFiles } from './durable.js';
import { SourceReadError, StoreIOError } from './errors.js';
import type { PutError, PutResult } from './blobs.js';
import type { Failure, PlaceReply, Request, WorkerSetup, Written, WriteReply } from './ingest-worker.js';
import { blobPath, tmpName, type Layout } from './layout.js';

// A bulk ingest on worker threads (ingest-worker.ts): they read, hash and write files
// to tmp/ on several cores, while this thread makes what they wrote durable in groups
// (one syncfs per group, the disk busy while the next group is hashed) and then has
// each group linked into place. A blob becomes visible only after the flush that
// covers it, as with one put.

/** Files handed to a worker at once: enough to amortise a message, few enough to balance sizes. */
const BATCH_FILES = 16;
const BATCH_BYTES = 8 * 2 ** 20;
/** Bytes written before a flush starts while more is being written. */
const GROUP_BYTES = 64 * 2 ** 20;

/** How many threads hash: one per core, at most 8 (past that the disk is the limit). */
export const defaultWorkers = () => Math.max(1, Math.min(8, os.availableParallelism()));

/**
 * The compiled worker. Run from the TypeScript sources (the tests), the modules are .ts,
 * which a worker cannot load: the worker is the file tsc compiled from the same source
 * (`npm test` builds first).
 */
export function workerFile(): string | undefined {
  const here = new URL('./ingest-worker.js', import.meta.url);
  const url = import.meta.url.endsWith('.ts') ? new URL(here.href.replace(/\/src\/store\/ingest-worker\.js$/, '/dist/src/store/ingest-worker.js')) : here;
  const file = fileURLToPath(url);
  return existsSync(file) ? file : undefined;
}

type Reply = WriteReply | PlaceReply;

/** One worker, its replies matched to its requests in order (a worker answers in order). */
class Channel {
  private readonly waiting: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];
  private dead: Error | undefined;
  constructor(private readonly worker: Worker) {
    worker.on('message', (m: Reply) => this.waiting.shift()?.resolve(m));
    const die = (e: Error) => {
      this.dead ??= e;
      for (const w of this.waiting.splice(0)) w.reject(this.dead);
    };
    worker.on('error', die);
    worker.on('exit', (code) => die(new Error(`the ingest worker exited (status ${code})`)));
  }

  call<R extends Reply>(req: Request): Promise<R> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ resolve: resolve as (r: Reply) => void, reject });
      this.worker.postMessage(req);
    });
  }

  async close(): Promise<void> {
    if (!this.dead) this.worker.postMessage({ type: 'exit' } satisfies Request);
    await this.worker.terminate().catch(() => undefined);
  }
}

const failure = (f: Failure): PutError => (f.kind === 'source' ? new SourceReadError(f.path, f.message) : new StoreIOError(f.path, f.message));

/**
 * Puts files[i] for each i of `indices`; `sizes` (from the caller's stats) only balances
 * batches. One result per index. undefined: no worker could be started (no compiled
 * worker file); the caller puts the files itself.
 */
export async function ingestInWorkers(opts: {
  layout: Layout;
  files: readonly string[];
  indices: readonly number[];
  sizes: ReadonlyMap<number, number>;
  workers?: number;
}): Promise<Map<number, Result<PutResult, PutError>> | undefined> {
  const file = workerFile();
  if (!file) return undefined;
  // each worker's directory is named as a tmp file is, so a crashed process's are swept
  const dirs = Array.from({ length: opts.workers ?? defaultWorkers() }, (_, k) => tmpName(opts.layout, `ingest${k}`));
  try {
    await Promise.all(dirs.map((d) => mkdir(d)));
  } catch (e: unknown) {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    const io = err(new StoreIOError(opts.layout.tmp, (e as Error).message));
    return new Map(opts.indices.map((i) => [i, io]));
  }
  const channels = dirs.map((dir) => new Channel(new Worker(file, { workerData: { weldIngest: { dir } satisfies WorkerSetup } })));
  const results = new Map<number, Result<PutResult, PutError>>();
  const queue = [...opts.indices];
  let next = 0;
  let written: Array<{ i: number; w: Written }> = [];
  let writtenBytes = 0;
  let writing = channels.length;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };

  const take = () => {
    const items: Array<{ i: number; file: string }> = [];
    let bytes = 0;
    while (next < queue.length && items.length < BATCH_FILES && bytes < BATCH_BYTES) {
      const i = queue[next++]!;
      items.push({ i, file: opts.files[i]! });
      bytes += opts.sizes.get(i) ?? 0;
    }
    return items;
  };

  const writer = async (ch: Channel) => {
    try {
      for (let items = take(); items.length; items = take()) {
        let reply: WriteReply;
        try {
          reply = await ch.call<WriteReply>({ type: 'write', items });
        } catch (e: unknown) {
          // what it was writing is lost (its tmp files are swept as stale); the others go on
          for (const { i } of items) results.set(i, err(new StoreIOError(opts.files[i]!, `the ingest worker failed: ${(e as Error).message}`)));
          return;
        }
        for (const { i, r } of reply.results) {
          if (!r.ok) results.set(i, err(failure(r)));
          else {
            written.push({ i, w: r });
            writtenBytes += r.size;
          }
        }
        if (writtenBytes >= GROUP_BYTES) notify();
      }
    } finally {
      writing--;
      notify();
    }
  };

  const place = async (group: Array<{ i: number; w: Written }>) => {
    const live = channels.length;
    const parts = Array.from({ length: live }, (_, k) => group.filter((_, j) => j % live === k));
    await Promise.all(
      parts.map(async (part, k) => {
        if (!part.length) return;
        const items = part.map(({ i, w }) => ({ i, tmp: w.tmp, final: blobPath(opts.layout, w.digest as Digest) }));
        let reply: PlaceReply;
        try {
          reply = await channels[k]!.call<PlaceReply>({ type: 'place', items });
        } catch (e: unknown) {
          await Promise.all(part.map(({ w }) => rm(w.tmp, { force: true })));
          for (const { i } of part) results.set(i, err(new StoreIOError(opts.files[i]!, `the ingest worker failed: ${(e as Error).message}`)));
          return;
        }
        const byIndex = new Map(part.map((p) => [p.i, p.w]));
        for (const { i, r } of reply.results) {
          const w = byIndex.get(i)!;
          results.set(i, r.ok ? ok({ digest: w.digest as Digest, size: w.size, existed: r.existed }) : err(failure(r)));
        }
      }),
    );
  };

  // Flushes and places what has been written, a group at a time, until writing is over.
  const flusher = async () => {
    for (;;) {
      if (writing > 0 && writtenBytes < GROUP_BYTES) await new Promise<void>((r) => (wake = r));
      if (!written.length) {
        if (writing === 0) return;
        continue;
      }
      const group = written;
      written = [];
      writtenBytes = 0;
      const synced = await syncFiles(group.map((g) => g.w.tmp));
      if (synced.ok) await place(group);
      else {
        await Promise.all(group.map(({ w }) => rm(w.tmp, { force: true })));
        for (const { i } of group) results.set(i, synced);
      }
    }
  };

  try {
    await Promise.all([...channels.map(writer), flusher()]);
  } finally {
    await Promise.all(channels.map((c) => c.close()));
    // what is left is what failed or was never placed
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
  // a worker that died before taking any file leaves files nobody wrote
  for (const i of opts.indices) if (!results.has(i)) results.set(i, err(new StoreIOError(opts.files[i]!, 'no ingest worker was left to write it')));
  return results;
}
