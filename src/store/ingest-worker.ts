import { createHash } from 'node:crypto';
import { closeSync, fstatSync, linkSync, mkdirSync, openSync, readSync, rmSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import path from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

// One thread of a bulk ingest (ingest-pool.ts). Each file is read, hashed and written
// to tmp/ with blocking calls: one file's open, read, write and close cost four trips
// through libuv's pool and as many promise turns on the main thread, which spent more
// time waiting for them than hashing (2,000 files: 1.7 s against 0.4 s of sha256).
// Several of these threads hash on several cores. Nothing here makes a file durable or
// visible: the main thread flushes a group once (syncfs), then asks for the links.
// Only node builtins: this file runs as its own module in a worker.

export const CHUNK = 1 << 20;

export interface WorkerSetup {
  /**
   * This worker's own directory under the store's tmp/. Every create takes its
   * directory's lock: workers writing into one directory wait for each other.
   */
  dir: string;
}

export type WriteRequest = { type: 'write'; items: Array<{ i: number; file: string }> };
export type PlaceRequest = { type: 'place'; items: Array<{ i: number; tmp: string; final: string }> };
export type Request = WriteRequest | PlaceRequest | { type: 'exit' };

/** `source`: the file could not be read as a regular file; `io`: the store could not be written */
export type Failure = { ok: false; kind: 'source' | 'io'; path: string; message: string };
export type Written = { ok: true; tmp: string; digest: string; size: number };
export type WriteReply = { type: 'written'; results: Array<{ i: number; r: Written | Failure }> };
/** existed: the blob was there already (its mtime is refreshed, as linkIn does) */
export type PlaceReply = { type: 'placed'; results: Array<{ i: number; r: { ok: true; existed: boolean } | Failure }> };

const describe = (e: unknown) => {
  const x = e as NodeJS.ErrnoException;
  return x.code ? `${x.code}: ${x.message}` : String(x?.message ?? e);
};

let written = 0;

/** Reads `file` into the worker's directory while hashing it. The buffer is reused from file to file. */
export function writeOne(setup: WorkerSetup, file: string, buf: Buffer): Written | Failure {
  let fd: number;
  let size: number;
  try {
    fd = openSync(file, 'r');
  } catch (e: unknown) {
    return { ok: false, kind: 'source', path: file, message: describe(e) };
  }
  let out: number | undefined;
  const tmp = path.join(setup.dir, String(written++));
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, kind: 'source', path: file, message: st.isDirectory() ? 'it is a directory' : 'it is not a regular file' };
    try {
      out = openSync(tmp, 'wx', 0o444);
    } catch (e: unknown) {
      return { ok: false, kind: 'io', path: tmp, message: describe(e) };
    }
    const hash = createHash('sha256');
    size = 0;
    // read until EOF, not to st.size: a file that grows or shrinks meanwhile is stored as read
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e: unknown) {
        return fail(tmp, { ok: false, kind: 'source', path: file, message: describe(e) });
      }
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      size += n;
      try {
        for (let off = 0; off < n; ) off += writeSync(out, buf, off, n - off);
      } catch (e: unknown) {
        return fail(tmp, { ok: false, kind: 'io', path: tmp, message: describe(e) });
      }
    }
    try {
      closeSync(out);
    } catch (e: unknown) {
      out = undefined;
      return fail(tmp, { ok: false, kind: 'io', path: tmp, message: describe(e) });
    }
    out = undefined;
    return { ok: true, tmp, digest: `sha256:${hash.digest('hex')}`, size };
  } finally {
    if (out !== undefined) closeQuietly(out);
    closeQuietly(fd);
  }
}

/** Drops a half-written tmp file; its descriptor is closed once, by writeOne's finally. */
function fail(tmp: string, f: Failure): Failure {
  rmSync(tmp, { force: true });
  return f;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed, or the close of a read-only file failed: nothing to undo
  }
}

/**
 * Links a durable tmp file in as its blob and drops the tmp name. link, unlike rename,
 * never replaces: when the blob is there already (another process, or the same content
 * twice in one ingest) ours is dropped and both succeed.
 */
export function placeOne(tmp: string, final: string): { ok: true; existed: boolean } | Failure {
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, final);
        return { ok: true, existed: false };
      } catch (e: unknown) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') {
          const now = new Date();
          try {
            utimesSync(final, now, now);
          } catch {
            // a fresh mtime only helps gc's grace period; the blob is there
          }
          return { ok: true, existed: true };
        }
        if (code === 'ENOENT' && attempt === 0) {
          mkdirSync(path.dirname(final), { recursive: true });
          continue;
        }
        return { ok: false, kind: 'io', path: final, message: describe(e) };
      }
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // gone already; tmp/ is swept of stale files anyway
    }
  }
}

function serve(setup: WorkerSetup): void {
  const port = parentPort!;
  const buf = Buffer.allocUnsafe(CHUNK);
  port.on('message', (m: Request) => {
    if (m.type === 'exit') {
      port.close();
      return;
    }
    if (m.type === 'write') {
      const reply: WriteReply = { type: 'written', results: m.items.map(({ i, file }) => ({ i, r: writeOne(setup, file, buf) })) };
      port.postMessage(reply);
      return;
    }
    const reply: PlaceReply = { type: 'placed', results: m.items.map(({ i, tmp, final }) => ({ i, r: placeOne(tmp, final) })) };
    port.postMessage(reply);
  });
}

if (!isMainThread && parentPort && (workerData as { weldIngest?: WorkerSetup } | null)?.weldIngest) serve((workerData as { weldIngest: WorkerSetup }).weldIngest);
