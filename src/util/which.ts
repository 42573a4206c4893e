import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** The first executable called `name` on PATH (sbin included: root tools live there). */
export function which(opts: { name: string; env?: NodeJS.ProcessEnv }): string | undefined {
  const dirs = (opts.env?.['PATH'] ?? process.env['PATH'] ?? '').split(':').filter(Boolean);
  for (const d of [...dirs, '/usr/local/sbin', '/usr/sbin', '/sbin']) {
    const p = path.join(d, opts.name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}
