import type { SubjectEvent, WeldEvent } from '../core/events.js';
import type { Placement } from '../runner/runner.js';
import type { BuildOutput } from '../store/records.js';
import type { BuildFailure, SkipReason } from './failures.js';

// What a build session tells its listeners (ink view, plain lines, --json, the service's
// stream), in the one event shape of src/core/events.ts. It never prints.

type PackageEvent<T extends string, D extends object> = SubjectEvent<T, D, 'package'>;

export type BuildEvent =
  | WeldEvent<'warning', { message: string }>
  /** what this session built went to the store remote (`[store] push = true`) */
  | WeldEvent<'pushed', { remote: string; records: number; present: number; blobs: number; bytes: number }>
  | PackageEvent<'started', { key: string; changed: string[] }>
  | PackageEvent<'log', { line: string }>
  /** a run of the package (its build, repair or test) went to this build backend (only when backends are configured) */
  | PackageEvent<'placed', { step: RunStep; backend: string; attempt: number }>
  /** the backend of a run was lost (not the recipe's failure): the run starts again on `backend`; nothing from the lost one is kept */
  | PackageEvent<'retried', { step: RunStep; backend: string; attempt: number; lost: { backend: string; reason: string } }>
  /** `sharedFrom`: a pure wheel another target built, recorded for this key (a matrix build) */
  | PackageEvent<'cached', { key: string; outputs: BuildOutput[]; sharedFrom?: string }>
  /** not in the store, but on the store remote: its record and blobs were pulled, nothing was built */
  | PackageEvent<'substituted', { key: string; outputs: BuildOutput[]; remote: string; keyId: string; blobs: number; bytes: number }>
  | PackageEvent<'done', { key: string; outputs: BuildOutput[]; durationMs: number; check?: CheckResult }>
  | PackageEvent<'failed', { key?: string; error: BuildFailure; logTail: string[]; logFile?: string; keptDir?: string }>
  | PackageEvent<'skipped', { error: SkipReason }>
  /** the wheel's test starts (after its build, or for a cached build whose test has not passed) */
  | PackageEvent<'testing', { testKey: string; env: string }>
  /** `reused`: a passed test record for this key was found; nothing ran */
  | PackageEvent<'tested', { testKey: string; reused: boolean; durationMs: number }>
  | PackageEvent<'test-failed', { testKey?: string; error: BuildFailure; logTail: string[]; logFile?: string }>;

export type BuildListener = (e: BuildEvent) => void;

export type RunStep = 'build' | 'repair' | 'test';

/** What a run of `pkg` asks of the runner about backends: its labels, and where to say it went. */
export function placement(opts: { pkg: string; step: RunStep; labels?: Record<string, string>; onEvent: BuildListener }): { labels?: Record<string, string>; onPlaced: (p: Placement) => void } {
  return {
    ...(opts.labels ? { labels: opts.labels } : {}),
    onPlaced: (p) =>
      opts.onEvent(
        p.retryOf
          ? packageEvent('retried', opts.pkg, { step: opts.step, backend: p.backend, attempt: p.attempt, lost: p.retryOf })
          : packageEvent('placed', opts.pkg, { step: opts.step, backend: p.backend, attempt: p.attempt }),
      ),
  };
}

type DataOf<T extends BuildEvent['type']> = Extract<BuildEvent, { type: T }>['data'];

/** An event about one package, stamped now. */
export function packageEvent<T extends Exclude<BuildEvent['type'], 'warning' | 'pushed'>>(type: T, pkg: string, data: DataOf<T>): Extract<BuildEvent, { type: T }> {
  return { type, subject: { kind: 'package', name: pkg }, at: Date.now(), data } as Extract<BuildEvent, { type: T }>;
}

export function warningEvent(message: string): BuildEvent {
  return { type: 'warning', at: Date.now(), data: { message } };
}

export function pushedEvent(data: DataOf<'pushed'>): BuildEvent {
  return { type: 'pushed', at: Date.now(), data };
}

/** `--check`: the rebuild's outputs against the recorded ones. */
export interface CheckResult {
  /** false when there was no record to compare with */
  compared: boolean;
  match: boolean;
  differences: string[];
}
