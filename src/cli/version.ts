import { readFileSync } from 'node:fs';

/** weld's version from package.json: dist/src/cli/*.js when installed, src/cli/*.ts under vitest. */
export function weldVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'weld') return pkg.version;
    } catch {
      /* try the next layout */
    }
  }
  return 'unknown';
}
