import { readFileSync } from 'node:fs';
import path from 'node:path';
import { err, ok, type Result } from '../core/result.js';
import { checkLock, formatLock, type LockEntry } from '../metadata/lock-file.js';
import type { Metadata } from '../metadata/model.js';
import { parseToml } from '../metadata/toml.js';
import { writeFileIfChanged } from '../util/fs.js';
import { LockFileError } from './errors.js';
import type { MirrorOutcome } from './mirror.js';

/**
 * The lock after a mirror run: what the file says now (another `weld mirror` may have
 * written it since this one started), with this run's mirrored packages replaced, and
 * packages no longer in the metadata dropped.
 */
export function nextLock(opts: { metadata: Metadata; outcome: MirrorOutcome; current: Record<string, LockEntry> }): Record<string, LockEntry> {
  const out: Record<string, LockEntry> = {};
  for (const name of opts.metadata.packages.keys()) {
    const r = opts.outcome.get(name);
    const entry = r?.ok ? r.value.lock : opts.current[name];
    if (entry) out[name] = entry;
  }
  return out;
}

export function lockFilePath(metadata: Metadata): string {
  return path.join(metadata.root, metadata.metaDir, 'weld.lock');
}

/** The lock as it is on disk right now; an unreadable one counts as empty (it is rewritten whole). */
export function readLockNow(metadata: Metadata): Record<string, LockEntry> {
  let text: string;
  try {
    text = readFileSync(lockFilePath(metadata), 'utf8');
  } catch {
    return {};
  }
  const parsed = parseToml(text);
  return parsed.ok ? checkLock(parsed.doc, []) : {};
}

/** Writes metadata/weld.lock in the work tree (tmp + rename), only when it changes. */
export function writeLockFile(opts: { metadata: Metadata; entries: Record<string, LockEntry> }): Result<{ file: string; changed: boolean }, LockFileError> {
  const file = lockFilePath(opts.metadata);
  try {
    return ok({ file, changed: writeFileIfChanged({ file, text: formatLock(opts.entries) }) });
  } catch (e: unknown) {
    return err(new LockFileError(`cannot write ${file}: ${(e as Error).message}`));
  }
}
