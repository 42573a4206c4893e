import { err, ok, type Result } from '../core/result.js';
import type { EnvLock, LockedDeb } from '../metadata/model.js';
import { writeFileIfChanged } from '../util/fs.js';
import { LockWriteError } from './errors.js';

/** Name, then arch, then version: one stable order whatever apt printed first. */
export function sortDebs(debs: LockedDeb[]): LockedDeb[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...debs].sort((a, b) => cmp(a.name, b.name) || cmp(a.arch, b.arch) || cmp(a.version, b.version));
}

// JSON string syntax is a valid TOML basic string for everything a Debian field holds.
const q = (s: string) => JSON.stringify(s);

export function formatEnvLock(opts: { env: string; lock: Omit<EnvLock, 'file'> }): string {
  const { env, lock } = opts;
  const out = [
    `# Written by \`weld env lock ${env}\`: every .deb of the env, resolved by apt for ${lock.arch}.`,
    `# Do not edit; regenerate with \`weld env lock ${env}\`.`,
    '[lock]',
    `inputs = ${q(lock.inputs)}`,
    `suite = ${q(lock.suite)}`,
    `arch = ${q(lock.arch)}`,
  ];
  for (const d of sortDebs(lock.debs)) {
    out.push('', '[[deb]]', `name = ${q(d.name)}`, `version = ${q(d.version)}`, `arch = ${q(d.arch)}`, `path = ${q(d.path)}`, `sha256 = ${q(d.sha256)}`, `size = ${d.size}`);
  }
  return out.join('\n') + '\n';
}

/** Writes the lock (tmp + rename, so a reader never sees half of it); untouched when unchanged. */
export function writeEnvLock(opts: { file: string; text: string }): Result<{ changed: boolean }, LockWriteError> {
  try {
    return ok({ changed: writeFileIfChanged({ file: opts.file, text: opts.text }) });
  } catch (e: unknown) {
    return err(new LockWriteError(opts.file, (e as Error).message));
  }
}
