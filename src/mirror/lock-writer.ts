import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { err, ok, type Result } from '../core/result.js';
import { formatLock, type LockEntry } from '../metadata/lock-file.js';
import type { Metadata } from '../metadata/model.js';
import { LockFileError } from './errors.js';
import type { MirrorOutcome } from './mirror.js';

/**
 * The lock after a mirror run: every package still in the metadata keeps its entry,
 * mirrored ones get their new entry, and packages that were removed drop out.
 */
export function nextLock(opts: { metadata: Metadata; outcome: MirrorOutcome }): Record<string, LockEntry> {
  const out: Record<string, LockEntry> = {};
  for (const name of opts.metadata.packages.keys()) {
    const r = opts.outcome.get(name);
    const entry = r?.ok ? r.value.lock : opts.metadata.lock[name];
    if (entry) out[name] = entry;
  }
  return out;
}

/** Writes metadata/weld.lock in the work tree (tmp + rename), only when it changes. */
export function writeLockFile(opts: { metadata: Metadata; entries: Record<string, LockEntry> }): Result<{ file: string; changed: boolean }, LockFileError> {
  const file = path.join(opts.metadata.root, opts.metadata.metaDir, 'weld.lock');
  const text = formatLock(opts.entries);
  let old: string | undefined;
  try {
    old = readFileSync(file, 'utf8');
  } catch {
    old = undefined;
  }
  if (old === text) return ok({ file, changed: false });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (e: unknown) {
    return err(new LockFileError(`cannot write ${file}: ${(e as Error).message}`));
  }
  return ok({ file, changed: true });
}
