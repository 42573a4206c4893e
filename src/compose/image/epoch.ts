import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/**
 * The committer time of the metadata commit, in seconds: every time in a composed
 * image (file mtimes, created) is this, so the image changes only with its inputs.
 * 0 outside git.
 */
export async function metadataEpoch(opts: { root: string; commit: string | null }): Promise<number> {
  if (!opts.commit) return 0;
  try {
    const { stdout } = await execFileP('git', ['-C', opts.root, 'show', '-s', '--format=%ct', opts.commit]);
    const t = Number(stdout.trim());
    return Number.isSafeInteger(t) && t >= 0 ? t : 0;
  } catch {
    return 0;
  }
}
