import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { err, ok, type Result } from '../core/result.js';
import { describeHost } from './host-description.js';
import { MOUNT_SETUP, type Sandbox } from './host-sandbox.js';
import { contractEnv, RunFailedError, type RunOutcome, type Runner, type RunnerInfo, type RunSpec } from './runner.js';

// The local runner: the host's arch and tools, for tests and quick host builds. It cuts
// the network and makes the source read-only with `unshare` where the host allows.

const DEBIAN_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', s390x: 's390x', ppc64: 'ppc64el' };

/** How long a recipe gets between SIGTERM and SIGKILL once aborted. */
const GRACE_MS = 2000;

export interface LocalRunnerOptions {
  /** the sandbox to use instead of the probed one (tests of a host without unshare) */
  sandbox?: Sandbox;
  /** where the host description is cached (see host-description.ts); none: probed every run */
  cacheDir?: string;
}

export class LocalRunner implements Runner {
  readonly name = 'local';
  private host: Promise<{ info: RunnerInfo; sandbox: Sandbox }> | undefined;

  constructor(private readonly opts: LocalRunnerOptions = {}) {}

  private sandbox(): Promise<Sandbox> {
    return this.describe().then((h) => h.sandbox);
  }

  info(): Promise<RunnerInfo> {
    return this.describe().then((h) => h.info);
  }

  private describe(): Promise<{ info: RunnerInfo; sandbox: Sandbox }> {
    return (this.host ??= this.probe());
  }

  private async probe(): Promise<{ info: RunnerInfo; sandbox: Sandbox }> {
    const warnings: string[] = [];
    const host = await describeHost({ path: process.env['PATH'] ?? '/usr/bin:/bin', ...(this.opts.cacheDir ? { cacheDir: this.opts.cacheDir } : {}), onWarning: (w) => warnings.push(w) });
    const sb = this.opts.sandbox ?? host.sandbox;
    if (!sb.net) warnings.push('local runner: `unshare` cannot cut the network on this host; recipes run with network access');
    if (!sb.mounts) warnings.push('local runner: no private mount namespace; WELD_SRC is a throw-away copy but not read-only, and /tmp/weld-build is shared');
    // The toolchain is what makes host builds differ, so it is what the digest describes.
    const envImage = {
      runner: 'local',
      arch: this.arch(),
      os: `${os.type()} ${os.release()}`,
      ...host.toolchain,
      sandbox: { net: sb.net, mounts: sb.mounts },
    };
    const python = /Python (\d+\.\d+\S*)/.exec(host.toolchain.python3 ?? '')?.[1];
    return { info: { arch: this.arch(), envImage, warnings, ...(python ? { python } : {}) }, sandbox: sb };
  }

  private arch(): string {
    return DEBIAN_ARCH[process.arch] ?? process.arch;
  }

  async run(spec: RunSpec): Promise<Result<RunOutcome, RunFailedError>> {
    if (spec.signal?.aborted) return err(new RunFailedError('aborted', 'cancelled before it started'));
    const sb = await this.sandbox();
    const home = await mkdtemp(path.join(os.tmpdir(), 'weld-home-'));
    const env = {
      ...contractEnv(spec, { src: spec.srcDir, out: spec.outDir, deps: spec.depDirs }),
      // The host's PATH finds its tools; nothing else of the caller's environment leaks in.
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: home,
      TMPDIR: home,
    };
    // stderr joins stdout in the shell, so the log keeps the order the recipe wrote in.
    // First thing, so even a failing mount speaks into the build log rather than weld's stderr.
    const script = `exec 2>&1\n${sb.mounts ? MOUNT_SETUP + '\n' : ''}exec /bin/sh "$0"`;
    const argv = [...sb.prefix, '/bin/sh', '-c', script, spec.recipe];
    const started = performance.now();
    try {
      return await new Promise((resolve) => {
        const child = spawn(argv[0]!, argv.slice(1), { cwd: spec.srcDir, env, stdio: ['ignore', 'pipe', 'ignore'], detached: true });
        let aborted = false;
        let killTimer: NodeJS.Timeout | undefined;
        // detached: the recipe leads its own process group, so one kill reaches everything it started.
        const killGroup = (sig: NodeJS.Signals) => {
          try {
            if (child.pid) process.kill(-child.pid, sig);
          } catch {
            /* already gone */
          }
        };
        const onAbort = () => {
          aborted = true;
          killGroup('SIGTERM');
          killTimer = setTimeout(() => killGroup('SIGKILL'), GRACE_MS);
        };
        spec.signal?.addEventListener('abort', onAbort, { once: true });
        const lines = createInterface({ input: child.stdout });
        lines.on('line', (l) => spec.onLog(l));
        const closed = new Promise<void>((r) => lines.once('close', () => r()));
        child.once('error', (e) => {
          spec.signal?.removeEventListener('abort', onAbort);
          resolve(err(new RunFailedError('spawn', `could not start ${argv[0]}: ${e.message}`)));
        });
        child.once('exit', (code, signal) => {
          spec.signal?.removeEventListener('abort', onAbort);
          // Anything left in the group goes too: a recipe's background job must not outlive it.
          killGroup('SIGKILL');
          if (killTimer) clearTimeout(killTimer);
          void closed.then(() => {
            const durationMs = performance.now() - started;
            if (aborted) resolve(err(new RunFailedError('aborted', 'cancelled')));
            else if (code === 0) resolve(ok({ durationMs }));
            else if (code !== null) resolve(err(new RunFailedError('exit', `the recipe exited with status ${code}`, code)));
            else resolve(err(new RunFailedError('signal', `the recipe was killed by ${signal ?? 'a signal'}`)));
          });
        });
      });
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }
}
