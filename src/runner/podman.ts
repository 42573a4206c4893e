import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { err, ok, type Result } from '../core/result.js';
import { loadEnvImage, type ComposedImage } from '../envs/compose.js';
import { findEnvImage, podmanInfo, type EnvImage } from './env-image.js';
import { contractEnv, RunFailedError, type RunOutcome, type Runner, type RunnerContext, type RunnerInfo, type RunSpec } from './runner.js';
import { Podman } from '../podman/podman.js';


// Where the contract's directories appear inside the container: fixed, so logs and
// outputs do not depend on the host's temp paths.
// A remote engine (src/runner/backends/remote.ts) copies into the same paths.
export const SRC = '/weld/src';
export const OUT = '/weld/out';
export const RECIPE = '/weld/recipe';
export const DEPS = '/weld/deps';
export const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The container's command: stderr joins stdout inside, so the log keeps the order the recipe wrote in. */
export const recipeCommand = (recipe: string): string[] => ['/bin/sh', '-c', 'exec 2>&1; exec /bin/sh "$0"', `${RECIPE}/${path.basename(recipe)}`];

/** 125 is podman's own failure; 126/127 may be podman's, or a command the recipe could not run. */
export function exitReason(code: number): string {
  return code === 125 ? `podman could not start the container (status 125); see the log` : code === 126 || code === 127 ? `exited with status ${code}: a command could not be found or run (in the recipe, or podman's own); see the log` : `the recipe exited with status ${code}`;
}

type Image = EnvImage;

/**
 * The podman runner: each build in a fresh container of the package's env image
 * (`--arch`, `--network=none`), source and dependencies read-only, one writable output
 * directory. The container is named, so an abort removes it, whatever runs inside.
 */
export class PodmanBuildRunner implements Runner {
  readonly name = 'podman';
  private readonly images = new Map<string, Promise<Image>>();
  private readonly loaded = new Map<string, Promise<string | undefined>>();

  constructor(private readonly context: RunnerContext) {}

  private image(env: string): Promise<Image> {
    let p = this.images.get(env);
    if (!p) {
      p = findEnvImage({ context: this.context, env });
      this.images.set(env, p);
    }
    return p;
  }

  async info(opts: { env: string }): Promise<RunnerInfo> {
    return podmanInfo({ img: await this.image(opts.env), env: opts.env });
  }

  /** Loads the env image into podman once per run of weld; returns a problem, or undefined. */
  private ensureLoaded(podman: Podman, composed: ComposedImage): Promise<string | undefined> {
    let p = this.loaded.get(composed.tag);
    if (!p) {
      const store = this.context.store!; // an image was found, so there is a store
      p = loadEnvImage({ image: composed, store, podman }).then((r) => (r.ok ? undefined : r.error.message));
      this.loaded.set(composed.tag, p);
    }
    return p;
  }

  async run(spec: RunSpec): Promise<Result<RunOutcome, RunFailedError>> {
    if (spec.signal?.aborted) return err(new RunFailedError('aborted', 'cancelled before it started'));
    const img = await this.image(spec.envName);
    if (!img.ok) return err(new RunFailedError('spawn', img.problem));
    const { metadata, env } = this.context;
    const podman = Podman.open({ root: metadata.root, arch: img.composed.arch, env });
    if (!podman.ok) return err(new RunFailedError('spawn', `${podman.error.message}${podman.error.hint ? ` (${podman.error.hint})` : ''}`));
    const problem = await this.ensureLoaded(podman.value, img.composed);
    if (problem) return err(new RunFailedError('spawn', `cannot load ${img.composed.tag} into podman: ${problem}`));
    const deps = spec.depDirs.map((_, i) => `${DEPS}/${i}`);
    const args = podman.value.runArgs({
      image: img.composed.tag,
      cmd: recipeCommand(spec.recipe),
      mounts: [
        { host: spec.srcDir, container: SRC, readOnly: true },
        { host: spec.outDir, container: OUT, readOnly: false },
        { host: path.dirname(spec.recipe), container: RECIPE, readOnly: true },
        ...spec.depDirs.map((host, i) => ({ host, container: deps[i]!, readOnly: true })),
      ],
      env: { ...contractEnv(spec, { src: SRC, out: OUT, deps }), HOME: '/tmp', PATH },
      workdir: SRC,
    });
    const name = `weld-build-${randomBytes(6).toString('hex')}`;
    args.splice(1, 0, '--name', name);
    const started = performance.now();
    return new Promise((resolve) => {
      const child = spawn(podman.value.bin, args, { env: podman.value.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let aborted = false;
      let exited = false;
      const onAbort = () => {
        aborted = true;
        // Removed by name (killing podman's client would leave the container running);
        // retried until podman exits, since an abort can come before the container exists.
        const remove = async () => {
          while (!exited) {
            await podman.value.exec({ args: ['rm', '--force', '--time', '0', name] });
            if (!exited) await new Promise((r) => setTimeout(r, 500));
          }
        };
        void remove();
      };
      spec.signal?.addEventListener('abort', onAbort, { once: true });
      const out = createInterface({ input: child.stdout });
      const errs = createInterface({ input: child.stderr });
      out.on('line', (l) => spec.onLog(l));
      errs.on('line', (l) => spec.onLog(l));
      const closed = Promise.all([new Promise((r) => out.once('close', r)), new Promise((r) => errs.once('close', r))]);
      child.once('error', (e) => {
        exited = true;
        spec.signal?.removeEventListener('abort', onAbort);
        resolve(err(new RunFailedError('spawn', `could not start podman: ${e.message}`)));
      });
      child.once('exit', (code, signal) => {
        exited = true;
        spec.signal?.removeEventListener('abort', onAbort);
        void closed.then(() => {
          const durationMs = performance.now() - started;
          if (aborted) resolve(err(new RunFailedError('aborted', 'cancelled')));
          else if (code === 0) resolve(ok({ durationMs }));
          else if (code !== null) {
            resolve(err(new RunFailedError('exit', exitReason(code), code)));
          }
          else resolve(err(new RunFailedError('signal', `podman was killed by ${signal ?? 'a signal'}`)));
        });
      });
    });
  }
}
