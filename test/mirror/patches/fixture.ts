import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PatchInput } from '../../../src/mirror/patches/series.js';

// Real repositories for the patch-series tests: a base commit made by native git
// with fixed identities and dates (so two fixtures built alike have the same ids),
// a bare mirror of it, and native git to make patches and to cross-check trees.

export const WELD = { name: 'weld', email: 'weld@weld.invalid' };

const ENV = {
  GIT_AUTHOR_NAME: 'Upstream Dev',
  GIT_AUTHOR_EMAIL: 'dev@upstream.invalid',
  GIT_AUTHOR_DATE: '2023-06-01T12:00:00+0200',
  GIT_COMMITTER_NAME: 'Upstream Dev',
  GIT_COMMITTER_EMAIL: 'dev@upstream.invalid',
  GIT_COMMITTER_DATE: '2023-06-01T12:00:00+0200',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

/** Runs native git with the fixed identity (overridable per call); returns stdout untrimmed. */
export function git(cwd: string, args: string[], env: Record<string, string> = {}): string {
  // stderr is captured (it is in the thrown error), not left to clutter the test output
  return execFileSync('git', args, { cwd, env: { ...process.env, ...ENV, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export type Files = Record<string, string | Buffer | { content: string; exec: true }>;

export interface Fixture {
  root: string;
  /** a work tree whose HEAD is the base commit */
  work: string;
  /** a bare clone: what applyPatchSeries is given */
  gitdir: string;
  base: string;
  cleanup(): void;
}

export function writeFiles(dir: string, files: Files): void {
  for (const [name, spec] of Object.entries(files)) {
    const file = path.join(dir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    if (typeof spec === 'object' && !Buffer.isBuffer(spec)) {
      writeFileSync(file, spec.content);
      chmodSync(file, 0o755);
    } else {
      writeFileSync(file, spec);
    }
  }
}

export function fixture(files: Files): Fixture {
  const root = mkdtempSync(path.join(os.tmpdir(), 'weld-patches-'));
  const work = path.join(root, 'work');
  mkdirSync(work);
  git(work, ['init', '-q', '-b', 'main']);
  git(work, ['config', 'core.fileMode', 'true']);
  writeFiles(work, files);
  git(work, ['add', '-A']);
  git(work, ['commit', '-q', '-m', 'upstream 1.0']);
  const gitdir = path.join(root, 'mirror.git');
  git(root, ['clone', '-q', '--bare', work, gitdir]);
  const base = git(work, ['rev-parse', 'HEAD']).trim();
  return { root, work, gitdir, base, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Commits `change` in the work tree, as `author` ("Name <mail>") at `date` when given. */
export function commit(fx: Fixture, opts: { message: string; author?: string; date?: string; change: (work: string) => void }): void {
  opts.change(fx.work);
  git(fx.work, ['add', '-A']);
  git(fx.work, ['commit', '-q', '-m', opts.message], {
    ...(opts.author ? { GIT_AUTHOR_NAME: opts.author.split(' <')[0]!, GIT_AUTHOR_EMAIL: opts.author.split(' <')[1]!.slice(0, -1) } : {}),
    ...(opts.date ? { GIT_AUTHOR_DATE: opts.date } : {}),
  });
}

/** `git format-patch` of every commit since the base, as weld reads them from metadata/patches. */
export function formatPatches(fx: Fixture, extra: string[] = []): PatchInput[] {
  const out = path.join(fx.root, `patches-${Math.random().toString(36).slice(2)}`);
  git(fx.work, ['format-patch', '-q', '-o', out, ...extra, `${fx.base}..HEAD`]);
  return readdirSync(out)
    .sort()
    .map((name) => ({ name, text: readFileSync(path.join(out, name), 'utf8') }));
}

/** The tree native `git apply --index` makes from `base` after each patch, in a fresh clone. */
export function nativeTrees(fx: Fixture, patches: PatchInput[]): string[] {
  const clone = mkdtempSync(path.join(fx.root, 'native-'));
  git(fx.root, ['clone', '-q', fx.gitdir, clone]);
  git(clone, ['checkout', '-q', fx.base]);
  return patches.map((p) => {
    const file = path.join(fx.root, `native-${p.name}`);
    writeFileSync(file, p.text);
    git(clone, ['apply', '--index', file]);
    return git(clone, ['write-tree']).trim();
  });
}

export function treeOf(gitdir: string, commit: string): string {
  return git(gitdir, ['rev-parse', `${commit}^{tree}`]).trim();
}

/** `git fsck --strict` over the result, made reachable through a test-only ref. */
export function fsck(gitdir: string, head: string): string {
  git(gitdir, ['update-ref', 'refs/heads/fsck-check', head]);
  try {
    return execFileSync('git', ['fsck', '--strict', '--no-dangling', '--no-progress'], {
      cwd: gitdir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } finally {
    git(gitdir, ['update-ref', '-d', 'refs/heads/fsck-check']);
  }
}

export function refs(gitdir: string): string {
  return git(gitdir, ['for-each-ref', '--format=%(refname) %(objectname)']);
}

export function objectCount(gitdir: string): string {
  return git(gitdir, ['count-objects']).trim();
}

/** Lines "1".."n", one per line, for files with room for hunks and offsets. */
export function numbered(n: number, prefix = 'line'): string {
  return Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}\n`).join('');
}

/**
 * `diff -ruN pkg.orig pkg` (GNU diff, as quilt and Debian patches are made) between the
 * base work tree and a copy changed by `change`; timestamps are kept, as real patches have them.
 */
export function plainDiff(fx: Fixture, change: (dir: string) => void): string {
  const dir = mkdtempSync(path.join(fx.root, 'plain-'));
  const orig = path.join(dir, 'pkg.orig');
  const next = path.join(dir, 'pkg');
  for (const d of [orig, next]) {
    git(fx.root, ['clone', '-q', fx.gitdir, d]);
    rmSync(path.join(d, '.git'), { recursive: true });
  }
  change(next);
  const r = spawnSync('diff', ['-ruN', 'pkg.orig', 'pkg'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 1) throw new Error(`diff -ruN: status ${r.status}: ${r.stderr}`);
  return r.stdout;
}
