import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Replaces `file` through a tmp file in the same directory and a rename, so a reader
 * sees the old content or the new, never half of it. Makes the directory; leaves no
 * tmp file behind on failure. Throws the I/O error: callers decide what it means.
 */
export function writeFileAtomic(opts: { file: string; data: string | Uint8Array }): void {
  mkdirSync(path.dirname(opts.file), { recursive: true });
  const tmp = path.join(path.dirname(opts.file), `.${path.basename(opts.file)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, opts.data);
    renameSync(tmp, opts.file);
  } catch (e: unknown) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** writeFileAtomic, only when the file does not already hold `text`; true when it wrote. */
export function writeFileIfChanged(opts: { file: string; text: string }): boolean {
  let old: string | undefined;
  try {
    old = readFileSync(opts.file, 'utf8');
  } catch {
    old = undefined;
  }
  if (old === opts.text) return false;
  writeFileAtomic({ file: opts.file, data: opts.text });
  return true;
}
