import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { quote } from '../core/diagnostics.js';
import type { Package } from './model.js';

// Local upstreams (a path, or a file:// URL) are read at mirror time with weld's
// rights: without a fence, `tarball = "file:///etc/shadow"` in a respin branch would
// copy a secret into the store. A local upstream must lie inside the project or in a
// directory the configuration allows ([sources] allow_paths, WELD_ALLOW_PATHS).

/** The directories local upstreams may come from, absolute and with symlinks resolved. */
export function allowedRoots(opts: { root: string; allowPaths?: string[]; env?: NodeJS.ProcessEnv }): string[] {
  const fromEnv = (opts.env?.['WELD_ALLOW_PATHS'] ?? '').split(':').filter((p) => p !== '');
  return [opts.root, ...(opts.allowPaths ?? []), ...fromEnv].map((p) => realOrAsIs(path.resolve(opts.root, p)));
}

/** The absolute path a git or tarball upstream reads, or undefined when it is not local. */
export function localPathOf(opts: { url: string; root: string }): string | undefined {
  if (/^file:/i.test(opts.url)) {
    try {
      return fileURLToPath(opts.url);
    } catch {
      // A host Node will not map (file://evil/tmp/x) is still local to git, which ignores
      // it and reads the path: fence the path, never wave the URL through.
      try {
        return path.resolve('/', decodeURIComponent(new URL(opts.url).pathname));
      } catch {
        return path.resolve('/', opts.url.replace(/^file:\/*[^/]*/i, ''));
      }
    }
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(opts.url)) return undefined;
  return path.resolve(opts.root, opts.url);
}

/** The real path of `p`, resolving symlinks in the part that exists. */
function realOrAsIs(p: string): string {
  const rest: string[] = [];
  for (let at = p; ; at = path.dirname(at)) {
    try {
      return path.join(realpathSync(at), ...rest.reverse());
    } catch {
      if (path.dirname(at) === at) return p;
      rest.push(path.basename(at));
    }
  }
}

const within = (dir: string, p: string): boolean => {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/**
 * Where a local upstream really is (symlinks resolved), or why it may not be read:
 * it resolves outside every allowed directory.
 */
export function checkLocalPath(opts: { path: string; roots: string[] }): { ok: true; real: string } | { ok: false; message: string } {
  const real = realOrAsIs(opts.path);
  if (opts.roots.some((r) => within(r, real))) return { ok: true, real };
  const shown = real === opts.path ? quote(opts.path) : `${quote(opts.path)} (really ${quote(real)})`;
  return {
    ok: false,
    message: `local upstream ${shown} is outside the project and every allowed directory (${opts.roots.join(', ')}); move it into the project, or allow its directory with [sources] allow_paths in weld.toml or WELD_ALLOW_PATHS`,
  };
}

/**
 * Every package whose local upstream resolves outside the allowed directories, with
 * the key its url sits at. Run on every load, cached metadata or not: the file system
 * and WELD_ALLOW_PATHS can change while the metadata does not.
 */
export function localUpstreamProblems(opts: { root: string; packages: Package[]; allowPaths?: string[]; env?: NodeJS.ProcessEnv }): Array<{ file: string; path: string[]; message: string }> {
  const local = opts.packages.filter((p) => p.upstream.kind !== 'debian' && localPathOf({ url: p.upstream.url, root: opts.root }) !== undefined);
  if (local.length === 0) return [];
  const roots = allowedRoots(opts);
  const out: Array<{ file: string; path: string[]; message: string }> = [];
  for (const p of local) {
    const u = p.upstream as { kind: 'git' | 'tarball'; url: string };
    const checked = checkLocalPath({ path: localPathOf({ url: u.url, root: opts.root })!, roots });
    if (!checked.ok) out.push({ file: p.file, path: ['upstream', u.kind], message: checked.message });
  }
  return out;
}
