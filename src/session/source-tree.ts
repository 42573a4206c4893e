import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';

const execFileP = promisify(execFile);

/** The mirror cannot give the source a build needs. */
export class SourceError extends WeldError {
  readonly code = 'E_BUILD_SOURCE';
  constructor(message: string, hint?: string) {
    super(message);
    if (hint) this.hint = hint;
  }
}

/** The committer time of a commit, in seconds: the build's SOURCE_DATE_EPOCH. */
export async function committerTime(opts: { gitdir: string; commit: string }): Promise<Result<number, SourceError>> {
  try {
    const { stdout } = await execFileP('git', ['--git-dir', opts.gitdir, 'show', '-s', '--format=%ct', opts.commit]);
    return ok(Number(stdout.trim()));
  } catch {
    return err(new SourceError(`${opts.gitdir} has no commit ${opts.commit}`, 'run `weld mirror` for the package'));
  }
}

/**
 * The same, read in this process with isomorphic-git: no process per commit. Loading
 * isomorphic-git costs about as much as 100 git starts, so callers with many commits
 * to read (a first no-op build of a big distro) take this one.
 */
export async function committerTimeInProcess(opts: { gitdir: string; commit: string; cache: object }): Promise<Result<number, SourceError>> {
  const [{ default: git }, fs] = await Promise.all([import('isomorphic-git'), import('node:fs')]);
  try {
    const c = await git.readCommit({ fs, gitdir: opts.gitdir, oid: opts.commit, cache: opts.cache });
    return ok(c.commit.committer.timestamp);
  } catch {
    return err(new SourceError(`${opts.gitdir} has no commit ${opts.commit}`, 'run `weld mirror` for the package'));
  }
}

/**
 * Writes the tree into `dest` through `git archive | tar -x`: two processes streaming,
 * rather than one file at a time through JavaScript.
 */
export function extractTree(opts: { gitdir: string; tree: string; dest: string }): Promise<Result<void, SourceError>> {
  return new Promise((resolve) => {
    const archive = spawn('git', ['--git-dir', opts.gitdir, 'archive', '--format=tar', opts.tree], { stdio: ['ignore', 'pipe', 'pipe'] });
    const untar = spawn('tar', ['-x', '-C', opts.dest], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    archive.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    untar.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    archive.stdout.pipe(untar.stdin);
    let left = 2;
    let failed = false;
    const done = (code: number | null) => {
      if (code !== 0) failed = true;
      if (--left > 0) return;
      resolve(failed ? err(new SourceError(`could not extract tree ${opts.tree.slice(0, 12)} of ${opts.gitdir}: ${stderr.trim() || 'git archive failed'}`, 'run `weld mirror` for the package')) : ok(undefined));
    };
    archive.on('error', () => done(1));
    untar.on('error', () => done(1));
    archive.on('close', done);
    untar.on('close', done);
  });
}
