import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Level } from 'level';
import { err, ok, type Result } from '../core/result.js';
import { describe, StoreBusyError, StoreIOError } from './errors.js';
import { alive, type Layout } from './layout.js';

export type IndexDB = Level<string, string>;

export interface OpenIndexOptions {
  layout: Layout;
  /** what this process holds the index for; shown to processes that wait for it */
  purpose: string;
  /** give up after this long (default 5 minutes) */
  timeoutMs?: number;
  /** called once when the index is held by another process, with who holds it */
  onWait?: (holder: string) => void;
}

/**
 * LevelDB admits one process at a time, so the index is opened for one operation and
 * closed right after; a second process retries until the first lets go. The kernel
 * drops LevelDB's lock when a holder dies, so a crash never leaves the store locked;
 * the `<pid>.owner` note in tmp/ is only there to say who is holding it.
 */
export async function openIndex(opts: OpenIndexOptions): Promise<Result<IndexDB, StoreBusyError | StoreIOError>> {
  const start = Date.now();
  const timeout = opts.timeoutMs ?? 300_000;
  let delay = 5;
  let told = false;
  for (;;) {
    const db = new Level<string, string>(opts.layout.index, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    try {
      await db.open();
      await writeFile(ownerFile(opts.layout), JSON.stringify({ pid: process.pid, purpose: opts.purpose, since: new Date().toISOString() })).catch(() => undefined);
      return ok(db);
    } catch (e: unknown) {
      const cause = (e as { cause?: { code?: string } }).cause;
      if (cause?.code !== 'LEVEL_LOCKED') return err(new StoreIOError(opts.layout.index, describe(cause ?? e)));
    }
    const waited = Date.now() - start;
    if (waited >= timeout) return err(new StoreBusyError(opts.layout.root, await holder(opts.layout), waited));
    if (!told && opts.onWait && waited >= 200) {
      told = true;
      opts.onWait(await holder(opts.layout));
    }
    // Jitter keeps two waiters from retrying in lockstep.
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 100);
  }
}

export async function closeIndex(opts: { layout: Layout; db: IndexDB }): Promise<void> {
  await rm(ownerFile(opts.layout), { force: true });
  await opts.db.close();
}

function ownerFile(l: Layout): string {
  return path.join(l.tmp, `${process.pid}.owner`);
}

/** "pid 1234 (gc, since …)", from the newest owner note of a live process. */
async function holder(l: Layout): Promise<string> {
  const names = (await readdir(l.tmp).catch(() => [] as string[])).filter((n) => n.endsWith('.owner'));
  for (const name of names) {
    const pid = Number(name.split('.')[0]);
    if (pid === process.pid || !alive(pid)) continue;
    try {
      const note = JSON.parse(await readFile(path.join(l.tmp, name), 'utf8')) as { purpose?: string; since?: string };
      return `pid ${pid} (${note.purpose ?? 'unknown'}, since ${note.since ?? '?'})`;
    } catch {
      return `pid ${pid}`;
    }
  }
  return 'another process';
}
