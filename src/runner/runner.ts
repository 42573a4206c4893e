import { WeldError } from '../core/errors.js';
import type { Result } from '../core/result.js';
import type { Metadata } from '../metadata/model.js';
import type { Store } from '../store/store.js';
import type { RemoteSettings } from '../store/remote/config.js';
import type { BackendPool } from './backends/pool.js';
import type { Listener } from '../core/events.js';
import type { EnvEvent } from '../envs/events.js';

// A small backend interface, picked in one place (select.ts), after melange's
// pkg/container/runner.go: the executor says what to run, the runner decides where.

export interface RunSpec {
  /** the package's build env: the podman runner runs in its image; the local runner ignores it */
  envName: string;
  /** path of the recipe script; lib/ sits beside it */
  recipe: string;
  /** the source tree; the runner keeps it read-only where it can */
  srcDir: string;
  /** empty; the only place the recipe may write results */
  outDir: string;
  /** build dependency prefixes, in the order of WELD_DEPS */
  depDirs: string[];
  /** WELD_PACKAGE, WELD_VERSION, SOURCE_DATE_EPOCH and the build vars; the runner adds the rest */
  env: Record<string, string>;
  jobs: number;
  signal?: AbortSignal;
  /** every line the recipe prints (stdout and stderr merged), in order */
  onLog: (line: string) => void;
  /** labels a backend must have (`--backend-selector`, a job's selector, `[build] labels`); ignored where there are no backends */
  labels?: Record<string, string>;
  /** where the run went, each time a backend is picked (a retry picks again); runners without backends never call it */
  onPlaced?: (p: Placement) => void;
}

/** One attempt of a run on one backend. */
export interface Placement {
  backend: string;
  /** 1 for the first attempt */
  attempt: number;
  /** on a retry: the backend lost and why */
  retryOf?: { backend: string; reason: string };
}

export interface RunOutcome {
  durationMs: number;
}

/** What a runner tells about itself before builds start. */
export interface RunnerInfo {
  /** Debian arch name of what it builds for */
  arch: string;
  /** describes the build environment; its digest is the env image digest of the cache key */
  envImage: Record<string, unknown>;
  /** things the user should know, e.g. that the network could not be cut */
  warnings: string[];
  /** why nothing can run in this env (podman: no image composed for its lock) */
  unavailable?: string;
  /** the Python that runs in it, when the runner knows without starting it (local: the host's `python3 --version`) */
  python?: string;
}

/** What a runner is made with: the command opens the metadata and the store first. */
export interface RunnerContext {
  metadata: Metadata;
  /** absent when there is no store yet (weld status before any build) */
  store?: Store;
  env: NodeJS.ProcessEnv;
  /** the build backends (a backends file, the server's): with any in it, the podman runner builds on them, not on this host */
  pool?: BackendPool;
  /**
   * the store remote: an env image the store lacks is looked up there by its lock (and
   * substituted when signed by a trusted key); with backends, env images go up to it and
   * the engines pull them by digest
   */
  registry?: RemoteSettings;
  /** where the runner says that an env image came from the store remote (its problems are RunnerInfo warnings) */
  onEnvEvent?: Listener<EnvEvent>;
}

export interface Runner {
  readonly name: string;
  info(opts: { env: string }): Promise<RunnerInfo>;
  run(spec: RunSpec): Promise<Result<RunOutcome, RunFailedError>>;
}

/** `lost`: the backend failed or went away (not the recipe); nothing it made is kept */
export type RunFailure = 'exit' | 'signal' | 'aborted' | 'spawn' | 'lost';

/** The recipe did not succeed; `reason` is a sentence for the user. */
export class RunFailedError extends WeldError {
  readonly code = 'E_RUN_FAILED';
  constructor(
    readonly failure: RunFailure,
    readonly reason: string,
    readonly exitCode: number | null = null,
  ) {
    super(reason);
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), failure: this.failure, exitCode: this.exitCode };
  }
}

/** The environment every runner gives a recipe (DESIGN.md, "Recipe contract"). */
export function contractEnv(spec: RunSpec, paths: { src: string; out: string; deps: string[] }): Record<string, string> {
  return { ...spec.env, WELD_SRC: paths.src, WELD_OUT: paths.out, WELD_DEPS: paths.deps.join(':'), WELD_JOBS: String(spec.jobs) };
}
