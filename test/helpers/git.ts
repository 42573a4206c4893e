import { execFileSync } from 'node:child_process';

const IDENTITY = {
  GIT_AUTHOR_NAME: 'Weld Test',
  GIT_AUTHOR_EMAIL: 'test@weld.invalid',
  GIT_COMMITTER_NAME: 'Weld Test',
  GIT_COMMITTER_EMAIL: 'test@weld.invalid',
};

/** Runs the real git in `cwd` with a fixed identity; returns trimmed stdout. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...IDENTITY }, encoding: 'utf8' }).trim();
}

/** `git init` with a main branch and one commit of everything in `dir`. */
export function initRepo(dir: string): string {
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'initial metadata');
  return git(dir, 'rev-parse', 'HEAD');
}
