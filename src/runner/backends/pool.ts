import { WeldError } from '../../core/errors.js';
import { err, ok, type Result } from '../../core/result.js';
import { labelsMatch, type BackendConfig } from './config.js';
import type { EngineState } from './remote.js';

// The backend pool, after melange2's: a build goes to a backend whose arch matches and
// that has every requested label, and among those to the least loaded healthy one
// (active / max_jobs). A backend that fails FAILURE_LIMIT times in a row is skipped for
// SKIP_MS, then tried again; one success clears its failures. One pool serves every
// build of a process (the server's jobs share it), so load and health are counted once.

export const FAILURE_LIMIT = 3;
export const SKIP_MS = 30_000;

/** What GET /api/v1/backends and `weld backends ls` show of one backend. */
export interface BackendStatus {
  name: string;
  url: string;
  arch: string;
  labels: Record<string, string>;
  maxJobs: number;
  active: number;
  healthy: boolean;
  failures: number;
  /** ISO time until which it is skipped, or null */
  skippedUntil: string | null;
  /** ssh only, when set: the private key's path */
  identity?: string;
}

interface BackendState {
  config: BackendConfig;
  active: number;
  failures: number;
  skippedUntil: number;
  /** taken out of the pool; its running builds finish, no new ones start */
  removed: boolean;
  engine: EngineState;
}

/** No configured backend can ever take this build: its arch or labels match none. */
export class NoBackendError extends WeldError {
  readonly code = 'E_NO_BACKEND';
}

export interface Lease {
  backend: BackendConfig;
  engine: EngineState;
  /** `healthy`: the backend did its part (the recipe's own failure counts as healthy) */
  release(healthy: boolean): void;
}

export class BackendPool {
  private readonly states = new Map<string, BackendState>();
  private readonly waiters = new Set<() => void>();
  private readonly now: () => number;
  readonly failureLimit: number;
  readonly skipMs: number;

  constructor(opts: { backends: BackendConfig[]; failureLimit?: number; skipMs?: number; now?: () => number }) {
    this.now = opts.now ?? Date.now;
    this.failureLimit = opts.failureLimit ?? FAILURE_LIMIT;
    this.skipMs = opts.skipMs ?? SKIP_MS;
    for (const b of opts.backends) this.add(b);
  }

  get size(): number {
    return [...this.states.values()].filter((s) => !s.removed).length;
  }

  /** Adds a backend (or replaces one of that name, keeping the load and health of the old). */
  add(config: BackendConfig): void {
    const old = this.states.get(config.name);
    this.states.set(config.name, old ? { ...old, config, removed: false } : { config, active: 0, failures: 0, skippedUntil: 0, removed: false, engine: { loaded: new Map(), orphans: new Set() } });
    this.wake();
  }

  /** Takes a backend out; false when there was none of that name. */
  remove(name: string): boolean {
    const s = this.states.get(name);
    if (!s || s.removed) return false;
    if (s.active === 0) this.states.delete(name);
    else s.removed = true;
    this.wake();
    return true;
  }

  configs(): BackendConfig[] {
    return [...this.states.values()].filter((s) => !s.removed).map((s) => s.config);
  }

  list(): BackendStatus[] {
    const now = this.now();
    return [...this.states.values()]
      .filter((s) => !s.removed)
      .map((s) => ({
        name: s.config.name,
        url: s.config.url,
        arch: s.config.arch,
        labels: { ...s.config.labels },
        maxJobs: s.config.maxJobs,
        active: s.active,
        healthy: this.healthy(s, now),
        failures: s.failures,
        skippedUntil: s.skippedUntil > now ? new Date(s.skippedUntil).toISOString() : null,
        ...(s.config.identity !== undefined ? { identity: s.config.identity } : {}),
      }));
  }

  private healthy(s: BackendState, now: number): boolean {
    return s.failures < this.failureLimit || now >= s.skippedUntil;
  }

  /**
   * A slot on the least loaded healthy backend for `arch` with every label in `labels`;
   * backends in `exclude` (already lost this build) only when no other can take it.
   * Waits while the matching backends are full or skipped; fails at once when none match.
   */
  async acquire(opts: { arch: string; labels: Record<string, string>; exclude?: string[]; signal?: AbortSignal }): Promise<Result<Lease, NoBackendError | 'aborted'>> {
    for (;;) {
      if (opts.signal?.aborted) return err('aborted');
      const now = this.now();
      const candidates = [...this.states.values()].filter((s) => !s.removed && s.config.arch === opts.arch && labelsMatch(s.config.labels, opts.labels));
      if (!candidates.length) return err(this.noneMatch(opts));
      const healthy = candidates.filter((s) => this.healthy(s, now));
      const fresh = healthy.filter((s) => !opts.exclude?.includes(s.config.name));
      const pickFrom = (fresh.length ? fresh : healthy).filter((s) => s.active < s.config.maxJobs);
      const best = pickFrom.sort((a, b) => a.active / a.config.maxJobs - b.active / b.config.maxJobs || a.active - b.active || (a.config.name < b.config.name ? -1 : 1))[0];
      if (best) return ok(this.lease(best));
      // Full or skipped: wait for a release, a change, or the end of the soonest skip.
      const skipEnds = candidates.filter((s) => !this.healthy(s, now)).map((s) => s.skippedUntil - now);
      await this.changed({ ...(skipEnds.length ? { timeoutMs: Math.max(1, Math.min(...skipEnds)) } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
    }
  }

  private lease(s: BackendState): Lease {
    s.active++;
    let released = false;
    return {
      backend: s.config,
      engine: s.engine,
      release: (healthy) => {
        if (released) return;
        released = true;
        s.active--;
        if (healthy) {
          s.failures = 0;
          s.skippedUntil = 0;
        } else if (++s.failures >= this.failureLimit) s.skippedUntil = this.now() + this.skipMs;
        if (s.removed && s.active === 0 && this.states.get(s.config.name) === s) this.states.delete(s.config.name);
        this.wake();
      },
    };
  }

  private noneMatch(opts: { arch: string; labels: Record<string, string> }): NoBackendError {
    const want = Object.entries(opts.labels).map(([k, v]) => `${k}=${v}`);
    const have = this.configs().map((c) => `${c.name} (${[c.arch, ...Object.entries(c.labels).map(([k, v]) => `${k}=${v}`)].join(', ')})`);
    return new NoBackendError(
      `no backend builds ${opts.arch}${want.length ? ` with ${want.join(', ')}` : ''}; the backends are: ${have.join('; ') || 'none'}`,
      'add one (`weld backends add`), or change the --backend-selector, the job\'s selector or the package\'s [build] labels',
    );
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private changed(opts: { timeoutMs?: number; signal?: AbortSignal }): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = opts.timeoutMs === undefined ? undefined : setTimeout(done, opts.timeoutMs);
      this.waiters.add(done);
      opts.signal?.addEventListener('abort', done, { once: true });
    });
  }
}
