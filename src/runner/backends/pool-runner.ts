import { err, type Result } from '../../core/result.js';
import { Podman } from '../../podman/podman.js';
import { explainSshFailure, sshPreflight } from '../../podman/ssh.js';
import { findEnvImage, podmanInfo, type EnvImage } from '../env-image.js';
import { RunFailedError, type RunOutcome, type Runner, type RunnerContext, type RunnerInfo, type RunSpec } from '../runner.js';
import type { BackendPool } from './pool.js';
import { RegistryEnvSource, type PullSource } from './registry-source.js';
import { emptyDir, removeOrphans, runRemote, type Heartbeat } from './remote.js';

/** Attempts after the first when a backend is lost mid-build. */
export const RETRIES = 2;

/**
 * The podman runner when backends are configured: each run goes to a backend the pool
 * picks; a backend lost mid-run (not a failing recipe) gives the run to another, at most
 * RETRIES times, and what the lost one wrote is thrown away. The env image digest, and so
 * every cache key, is the same as this host's podman runner's: where a build ran does not
 * change what it is.
 */
export class PoolRunner implements Runner {
  readonly name = 'podman';
  private readonly images = new Map<string, Promise<EnvImage>>();

  /** with a store remote: where the engines pull env images from */
  private readonly registry: RegistryEnvSource | undefined;

  constructor(private readonly o: { pool: BackendPool; context: RunnerContext; retries?: number; heartbeat?: Heartbeat; maxOutputBytes?: number }) {
    const { registry, store } = o.context;
    this.registry = registry && store ? new RegistryEnvSource({ settings: registry, store }) : undefined;
  }

  private image(env: string): Promise<EnvImage> {
    let p = this.images.get(env);
    if (!p) {
      p = findEnvImage({ context: this.o.context, env });
      this.images.set(env, p);
    }
    return p;
  }

  async info(opts: { env: string }): Promise<RunnerInfo> {
    const info = podmanInfo({ img: await this.image(opts.env), env: opts.env });
    // said before anything runs; each build of the env would fail with the same words
    if (!info.unavailable && !this.o.pool.configs().some((c) => c.arch === info.arch)) info.warnings.push(`no build backend builds ${info.arch} (env "${opts.env}"): its builds will fail; see \`weld backends ls\``);
    return info;
  }

  async run(spec: RunSpec): Promise<Result<RunOutcome, RunFailedError>> {
    if (spec.signal?.aborted) return err(new RunFailedError('aborted', 'cancelled before it started'));
    const img = await this.image(spec.envName);
    if (!img.ok) return err(new RunFailedError('spawn', img.problem));
    const store = this.o.context.store!; // an image was found, so there is a store
    let pull: PullSource | undefined;
    if (this.registry) {
      const source = await this.registry.source(img.composed);
      if (source.ok) {
        pull = source.value;
        if (pull.recordProblem) spec.onLog(`weld: env image ${img.composed.tag} is on the store remote, but not its signed record (${pull.recordProblem}): other machines will compose it themselves`);
      } else spec.onLog(`weld: env image ${img.composed.tag} is not on the store remote (${source.error}); the backend is sent it through its API`);
    }
    const retries = this.o.retries ?? RETRIES;
    const lost: Array<{ backend: string; reason: string }> = [];
    for (let attempt = 1; attempt <= retries + 1; attempt++) {
      const lease = await this.o.pool.acquire({ arch: img.composed.arch, labels: spec.labels ?? {}, exclude: lost.map((l) => l.backend), ...(spec.signal ? { signal: spec.signal } : {}) });
      if (!lease.ok) return err(lease.error === 'aborted' ? new RunFailedError('aborted', 'cancelled while waiting for a backend') : new RunFailedError('spawn', `${lease.error.message} (${lease.error.hint})`));
      const b = lease.value.backend;
      const previous = lost.at(-1);
      spec.onPlaced?.({ backend: b.name, attempt, ...(previous ? { retryOf: previous } : {}) });
      const env = this.o.context.env;
      const podman = Podman.remote({ url: b.url, arch: img.composed.arch, env, ...(b.identity ? { identity: b.identity } : {}) });
      if (!podman.ok) {
        lease.value.release(true);
        return err(new RunFailedError('spawn', podman.error.message));
      }
      // an ssh engine whose host key this host cannot check (or whose key would prompt) is not used: it fails as a lost backend would
      const ready = sshPreflight({ url: b.url, env, ...(b.identity ? { identity: b.identity } : {}) });
      let r: Result<RunOutcome, RunFailedError>;
      if (!ready.ok) r = err(new RunFailedError('lost', `${ready.error.message}${ready.error.hint ? ` (${ready.error.hint})` : ''}`));
      else {
        if (lease.value.engine.orphans.size) await removeOrphans({ podman: podman.value, engine: lease.value.engine });
        if (attempt > 1) await emptyDir(spec.outDir);
        r = await runRemote({ podman: podman.value, image: img.composed, store, spec, engine: lease.value.engine, ...(pull ? { pull } : {}), ...(this.o.heartbeat ? { heartbeat: this.o.heartbeat } : {}), ...(this.o.maxOutputBytes !== undefined ? { maxOutputBytes: this.o.maxOutputBytes } : {}) });
      }
      const backendFailed = !r.ok && r.error.failure === 'lost';
      lease.value.release(!backendFailed);
      if (r.ok || !backendFailed) return r;
      const why = explainSshFailure({ url: b.url, env, output: r.error.reason, ...(b.identity ? { identity: b.identity } : {}) });
      lost.push({ backend: b.name, reason: why ? `${why} (${r.error.reason})` : r.error.reason });
      // the log says why the lines above stop and start again; the outputs of the lost run are gone
      spec.onLog(`weld: backend ${b.name} lost: ${lost.at(-1)!.reason}${attempt <= retries ? `; retrying on another backend (attempt ${attempt + 1} of ${retries + 1})` : ''}`);
    }
    await emptyDir(spec.outDir);
    return err(new RunFailedError('lost', `every try lost its backend: ${lost.map((l) => `${l.backend}: ${l.reason}`).join('; ')}`));
  }
}
