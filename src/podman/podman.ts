import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { err, ok, type Result } from '../core/result.js';
import { archInfo } from './arch.js';
import { decideContainersConf, writeContainersConf, type ContainersConf } from './containers-conf.js';
import { PodmanFailedError, PodmanNotFoundError } from './errors.js';
import { detectHost, type HostFacts } from './host.js';
import { which } from '../util/which.js';

export interface RunSpec {
  image: string;
  cmd: string[];
  /** network stays off unless a caller has a reason (builds never do) */
  network?: boolean;
  interactive?: boolean;
  /** allocate a terminal (only when weld's stdin is one) */
  tty?: boolean;
  /** host path → container path */
  mounts?: Array<{ host: string; container: string; readOnly: boolean }>;
  env?: Record<string, string>;
  workdir?: string;
}

/**
 * podman as weld calls it: which binary, which environment (CONTAINERS_CONF when the
 * host needs it, never when the user set their own) and the flags every run gets.
 */
export class Podman {
  private constructor(
    readonly bin: string,
    readonly arch: string,
    readonly env: NodeJS.ProcessEnv,
    readonly conf: ContainersConf,
    readonly confFile: string | undefined,
    /** a remote engine (`podman --url`): a backend's; absent for this host's podman */
    readonly url?: string,
    /** for an ssh:// engine: the private key (`podman --identity`) */
    readonly identity?: string,
  ) {}

  /**
   * This host's podman client talking to a remote engine through podman's own remote API
   * (`podman --url unix://…|tcp://…|ssh://…`). The engine's containers.conf is its own
   * business; the URL and the identity were checked when the backend was configured (and
   * an ssh one's known_hosts line by `sshPreflight`, src/podman/ssh.ts, before it is used).
   * Remote commands never get a terminal for stdin: podman's ssh transport asks for
   * passphrases and host keys only on one, and weld must never wait on a prompt.
   */
  static remote(opts: { url: string; arch: string; identity?: string; env?: NodeJS.ProcessEnv }): Result<Podman, PodmanNotFoundError> {
    const env = { ...(opts.env ?? process.env) };
    const bin = which({ name: 'podman', env });
    if (!bin) return err(new PodmanNotFoundError());
    return ok(new Podman(bin, opts.arch, env, { reasons: [], text: '' }, undefined, opts.url, opts.identity));
  }

  /** The arguments of one podman command: `--url URL` (and `--identity FILE`) first when the engine is remote. */
  command(args: string[]): string[] {
    if (!this.url) return args;
    return ['--url', this.url, ...(this.identity ? ['--identity', this.identity] : []), ...args];
  }

  static open(opts: { root: string; arch: string; env?: NodeJS.ProcessEnv; host?: HostFacts }): Result<Podman, PodmanNotFoundError> {
    const env = { ...(opts.env ?? process.env) };
    const host = opts.host ?? detectHost({ target: opts.arch, dir: opts.root, env });
    if (!host.podman) return err(new PodmanNotFoundError());
    const conf = decideContainersConf({ host });
    let confFile: string | undefined;
    if (!host.userContainersConf && conf.text) {
      confFile = writeContainersConf({ root: opts.root, conf });
      env['CONTAINERS_CONF'] = confFile;
    }
    return ok(new Podman(host.podman, opts.arch, env, conf, confFile));
  }

  runArgs(spec: RunSpec): string[] {
    const a = ['run', '--rm', '--arch', archInfo(this.arch).oci];
    if (!spec.network) a.push('--network=none');
    if (spec.interactive) a.push('-i');
    if (spec.tty) a.push('-t');
    for (const m of spec.mounts ?? []) a.push('-v', `${m.host}:${m.container}:${m.readOnly ? 'ro' : 'rw'}`);
    for (const [k, v] of Object.entries(spec.env ?? {}).sort()) a.push('-e', `${k}=${v}`);
    if (spec.workdir) a.push('-w', spec.workdir);
    a.push(spec.image, ...spec.cmd);
    return a;
  }

  /** Runs a command in a container and collects its output. */
  run(spec: RunSpec): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return this.exec({ args: this.runArgs(spec) });
  }

  /** Runs attached to the caller's terminal (weld env shell). */
  runInteractive(spec: RunSpec & { tty: boolean }): Promise<number | null> {
    return new Promise((resolve) => {
      const child = spawn(this.bin, this.command(this.runArgs({ ...spec, interactive: true })), { env: this.env, stdio: 'inherit' });
      child.on('error', () => resolve(127));
      child.on('close', (code) => resolve(code));
    });
  }

  async imageExists(ref: string): Promise<boolean> {
    return (await this.exec({ args: ['image', 'exists', ref] })).code === 0;
  }

  /** `podman load` from a stream holding an OCI archive. */
  async load(opts: { archive: Readable }): Promise<Result<string, PodmanFailedError>> {
    const r = await this.exec({ args: ['load'], stdin: opts.archive });
    return r.code === 0 ? ok(r.stdout) : err(new PodmanFailedError('load', r.code, r.stderr || r.stdout));
  }

  /** `timeoutMs`: kill podman after it (a remote engine that does not answer); the result says so in stderr */
  exec(opts: { args: string[]; stdin?: Readable; timeoutMs?: number }): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(this.bin, this.command(opts.args), { env: this.env, stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
      const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
        stderr += `\nno answer within ${opts.timeoutMs} ms`;
        child.kill('SIGKILL');
      }, opts.timeoutMs);
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      if (opts.stdin && child.stdin) {
        // podman exiting early closes the pipe; its exit status tells the story
        child.stdin.on('error', () => undefined);
        opts.stdin.pipe(child.stdin);
      }
      child.on('error', (e) => {
        clearTimeout(timer);
        resolve({ code: 127, stdout, stderr: stderr + e.message });
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }
}
