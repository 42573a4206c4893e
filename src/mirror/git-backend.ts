import { execa } from 'execa';

// isomorphic-git is the default for git work; native git is used for the steps
// where it is measured to be much faster (fetching: ENVIRONMENT.md has isomorphic-git
// cloning 4–5× slower) when it is installed. WELD_GIT=isomorphic|native forces one.

export type GitBackend = 'native' | 'isomorphic';

let nativeAvailable: Promise<boolean> | undefined;

function hasNativeGit(): Promise<boolean> {
  nativeAvailable ??= execa('git', ['--version'], { reject: false }).then((r) => r.exitCode === 0 && r.stdout.startsWith('git version'));
  return nativeAvailable;
}

export async function pickGitBackend(env: NodeJS.ProcessEnv = process.env): Promise<GitBackend> {
  const forced = env['WELD_GIT'];
  if (forced === 'isomorphic') return 'isomorphic';
  if (forced === 'native' || (await hasNativeGit())) return 'native';
  return 'isomorphic';
}

/** Runs native git on a bare repository; returns stdout, or the error text. */
export async function nativeGit(gitdir: string, args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const r = await execa('git', ['--git-dir', gitdir, ...args], {
    reject: false,
    // never prompt for credentials: CI and builds have no terminal
    env: { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '', LC_ALL: 'C' },
    stdin: 'ignore',
  });
  return { ok: r.exitCode === 0, stdout: String(r.stdout), stderr: String(r.stderr) };
}
