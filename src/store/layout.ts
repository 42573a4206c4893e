import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { err, ok, type Result } from '../core/result.js';
import { hexOf, type Digest } from './digest.js';
import { describe, StoreNotFoundError, StorePathError } from './errors.js';

export interface Layout {
  root: string;
  blobs: string;
  index: string;
  tmp: string;
}

export function layoutOf(root: string): Layout {
  return { root, blobs: path.join(root, 'blobs', 'sha256'), index: path.join(root, 'index'), tmp: path.join(root, 'tmp') };
}

export function blobPath(l: Layout, d: Digest): string {
  const hex = hexOf(d);
  return path.join(l.blobs, hex.slice(0, 2), hex.slice(2));
}

/** Checks (and with `create`, makes) the three directories; a file in the way is an error, never removed. */
export async function prepareLayout(opts: { root: string; create: boolean }): Promise<Result<Layout, StorePathError | StoreNotFoundError>> {
  const l = layoutOf(opts.root);
  const rootKind = await kindOf(opts.root);
  if (rootKind === 'missing' && !opts.create) return err(new StoreNotFoundError(opts.root));
  for (const dir of [l.root, l.blobs, l.index, l.tmp]) {
    const kind = await kindOf(dir);
    if (kind === 'dir') continue;
    if (kind === 'missing' && (opts.create || dir !== l.root)) {
      try {
        await mkdir(dir, { recursive: true });
        continue;
      } catch (e: unknown) {
        return err(new StorePathError(opts.root, `cannot create ${dir}: ${describe(e)}`));
      }
    }
    return err(new StorePathError(opts.root, `${dir} is ${kind === 'missing' ? 'missing' : 'not a directory'}`, kind === 'other' ? 'move that file away or pick another store location with --store <dir>' : undefined));
  }
  return ok(l);
}

async function kindOf(p: string): Promise<'dir' | 'missing' | 'other'> {
  try {
    return (await stat(p)).isDirectory() ? 'dir' : 'other';
  } catch (e: unknown) {
    const code = (e as NodeJS.ErrnoException).code;
    // ENOTDIR: a parent is a file, which is "in the way" rather than "missing".
    return code === 'ENOENT' ? 'missing' : 'other';
  }
}

// Tmp names carry the writer's pid so that a second live process never deletes
// a file the first one is still writing.
export function tmpName(l: Layout, tag: string): string {
  return path.join(l.tmp, `${process.pid}.${randomBytes(6).toString('hex')}.${tag}`);
}

const STALE_MS = 24 * 3600_000;

/** Removes tmp files of processes that are gone (a crash, a SIGKILL); returns how many. */
export async function cleanTmp(l: Layout): Promise<number> {
  let names: string[];
  try {
    names = await readdir(l.tmp);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const pid = Number(name.split('.')[0]);
    const file = path.join(l.tmp, name);
    let stale = !Number.isInteger(pid) || pid <= 0 || !alive(pid);
    // pids are reused; a day-old tmp file is abandoned whoever owns the number now.
    if (!stale) stale = await olderThan(file, STALE_MS);
    if (stale) {
      await rm(file, { force: true, recursive: true }).catch(() => undefined);
      removed++;
    }
  }
  return removed;
}

export function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: unknown) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function olderThan(file: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(file)).mtimeMs > ms;
  } catch {
    return false;
  }
}
