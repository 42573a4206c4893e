import type { Metadata } from '../metadata/model.js';
import type { JobGraph } from './job-matrix.js';
import type { BuildEvent } from '../session/events.js';
import { packageEnded, type Job, type PackageState, type PackageStatus } from './job.js';

// A job's per-package states, from the build session's events: started → building,
// cached → cached (a pure wheel another target built: with sharedFrom), substituted →
// cached with where it came from, done → built, failed → failed (canceled when a cancel stopped it),
// skipped → skipped (a dependency failed) or canceled. A wheel's test keeps the package
// built (or cached) and fills its `test` (testing → passed); a failed test fails the
// package. A package with requirements in the job is blocked until they have all built,
// then waiting. Event types this file does not know change no state; the caller logs them.

export type Change = { pkg: string; status: PackageStatus } | { log: { pkg?: string; text: string } } | { unknown: string };

/** The states a job starts (or resumes) with: what ended stays, the rest waits or is blocked. */
export function initialStates(o: { metadata: { graph: JobGraph }; packages: string[]; previous?: Record<string, PackageStatus> }): Record<string, PackageStatus> {
  const out: Record<string, PackageStatus> = {};
  for (const pkg of o.packages) {
    const before = o.previous?.[pkg];
    if (before && (before.state === 'cached' || before.state === 'built')) out[pkg] = before;
    else out[pkg] = { state: o.metadata.graph.requires(pkg).length ? 'blocked' : 'waiting' };
  }
  return out;
}

const CANCEL_CODES = new Set(['E_BUILD_CANCELLED']);

/** Applies one build event to the job; returns what changed, for the bus and the log. */
export function applyBuildEvent(o: { job: Job; metadata: { graph: JobGraph }; event: BuildEvent; canceled: boolean }): Change[] {
  const { job, event: e } = o;
  const type = (e as { type: string }).type;
  const pkg = e.subject?.name;
  const set = (state: PackageState, extra: Partial<PackageStatus> = {}): Change[] => {
    if (pkg === undefined || !job.packageStates[pkg]) return [{ unknown: type }];
    const status: PackageStatus = { ...job.packageStates[pkg]!, state, ...extra };
    job.packageStates[pkg] = status;
    const out: Change[] = [{ pkg, status }];
    if (state === 'cached' || state === 'built') out.push(...unblock({ job: o.job, metadata: o.metadata, done: pkg }));
    return out;
  };
  switch (e.type) {
    case 'started':
      return set('building', { key: e.data.key, startedAt: e.at });
    case 'log':
      return [{ log: { ...(pkg !== undefined ? { pkg } : {}), text: e.data.line } }];
    case 'cached':
      return set('cached', { key: e.data.key, outputs: e.data.outputs, endedAt: e.at, ...(e.data.sharedFrom ? { sharedFrom: e.data.sharedFrom } : {}) });
    case 'substituted':
      return set('cached', { key: e.data.key, outputs: e.data.outputs, endedAt: e.at, substituted: { remote: e.data.remote, keyId: e.data.keyId } });
    case 'pushed':
      return [{ log: { text: `pushed ${e.data.records} record${e.data.records === 1 ? '' : 's'} to ${e.data.remote} (${e.data.blobs} blob${e.data.blobs === 1 ? '' : 's'}, ${e.data.bytes} bytes sent${e.data.present ? `; ${e.data.present} already there` : ''})` } }];
    case 'done':
      return set('built', { key: e.data.key, outputs: e.data.outputs, endedAt: e.at });
    case 'failed': {
      const error = { code: e.data.error.code, message: e.data.error.message };
      const canceled = CANCEL_CODES.has(error.code) || (o.canceled && (e.data.error as { failure?: string }).failure === 'aborted');
      return set(canceled ? 'canceled' : 'failed', { ...(e.data.key ? { key: e.data.key } : {}), error, endedAt: e.at });
    }
    case 'skipped': {
      const error = { code: e.data.error.code, message: e.data.error.message };
      return set(CANCEL_CODES.has(error.code) ? 'canceled' : 'skipped', { error, endedAt: e.at });
    }
    case 'testing':
      return set(job.packageStates[pkg ?? '']?.state ?? 'built', { test: { state: 'testing', key: e.data.testKey } });
    case 'tested':
      return set(job.packageStates[pkg ?? '']?.state ?? 'built', { test: { state: 'passed', key: e.data.testKey, reused: e.data.reused } });
    case 'test-failed': {
      const error = { code: e.data.error.code, message: e.data.error.message };
      return set('failed', { error, endedAt: e.at, test: { state: 'failed', ...(e.data.testKey ? { key: e.data.testKey } : {}) } });
    }
    case 'placed':
    case 'retried': {
      // where its build (or test) runs now, for GET /jobs/{id} and the dashboard
      const changes = set(job.packageStates[pkg ?? '']?.state ?? 'building', { backend: e.data.backend });
      return e.type === 'retried' ? [...changes, { log: { ...(pkg !== undefined ? { pkg } : {}), text: `backend ${e.data.lost.backend} lost (${e.data.lost.reason}); ${e.data.step} retried on ${e.data.backend}` } }] : changes;
    }
    case 'warning':
      return [{ log: { text: `warning: ${e.data.message}` } }];
    default:
      return [{ unknown: type }];
  }
}

/** Dependents of `done` in the job whose requirements have now all built: blocked → waiting. */
function unblock(o: { job: Job; metadata: { graph: JobGraph }; done: string }): Change[] {
  const out: Change[] = [];
  for (const [pkg, status] of Object.entries(o.job.packageStates)) {
    if (status.state !== 'blocked' || !o.metadata.graph.requires(pkg).includes(o.done)) continue;
    const ready = o.metadata.graph.requires(pkg).every((r) => {
      const s = o.job.packageStates[r]?.state;
      return s === 'cached' || s === 'built';
    });
    if (ready) {
      const next: PackageStatus = { ...status, state: 'waiting' };
      o.job.packageStates[pkg] = next;
      out.push({ pkg, status: next });
    }
  }
  return out;
}

/** When the build ended, a package that never got an event (the run stopped first) is canceled. */
export function settleLeftovers(o: { job: Job; reason: string; at: number }): Change[] {
  const out: Change[] = [];
  for (const [pkg, status] of Object.entries(o.job.packageStates)) {
    if (packageEnded(status.state)) continue;
    const next: PackageStatus = { ...status, state: 'canceled', error: { code: 'E_BUILD_CANCELLED', message: o.reason }, endedAt: o.at };
    o.job.packageStates[pkg] = next;
    out.push({ pkg, status: next });
  }
  return out;
}

/**
 * What a job builds: every package with `all`, else the packages it names and those of
 * the composes it asks for (a compose is made of builds, so it needs them).
 */
export async function jobTargets(o: { metadata: Metadata; all: boolean; packages: string[]; composes: string[] }): Promise<string[]> {
  if (o.all) return [...o.metadata.packages.keys()].sort();
  const out = new Set(o.packages);
  if (o.composes.length) {
    const { composePackages } = await import('../compose/select.js');
    for (const name of o.composes) {
      const c = o.metadata.composes.get(name);
      const r = c && composePackages({ metadata: o.metadata, compose: c });
      if (r?.ok) for (const p of r.value.packages) out.add(p);
    }
  }
  return [...out].sort();
}
