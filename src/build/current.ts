import type { WeldError } from '../core/errors.js';
import { ok, type Result } from '../core/result.js';
import type { Metadata } from '../metadata/model.js';
import { planBuild, type PlanEntry } from '../plan/plan.js';
import type { Runner } from '../runner/runner.js';
import type { BuildRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { preparePlan } from './prepare.js';
import { loadRecords } from './records-view.js';

/** A package's build as the metadata asks for it now: in the store, or why it is not. */
export type CurrentBuild =
  | { state: 'built'; record: BuildRecord }
  | { state: 'missing'; reason: string };

/**
 * For each package, the build record whose cache key matches the metadata, env images
 * and recipes as they are now — what composes are made of. Runs nothing and writes nothing.
 */
export async function currentBuilds(opts: { metadata: Metadata; store: Store; runner: Runner; mirrorsDir: string; packages: string[] }): Promise<Result<Map<string, CurrentBuild>, WeldError>> {
  const planned = await planNow(opts);
  if (!planned.ok) return planned;
  const { plan, records } = planned.value;
  const out = new Map<string, CurrentBuild>();
  for (const pkg of opts.packages) {
    const entry = plan.get(pkg)!;
    const record = entry.state === 'cached' ? records.get(entry.key) : undefined;
    out.set(pkg, record ? { state: 'built', record } : { state: 'missing', reason: missingReason(entry) });
  }
  return ok(out);
}

/**
 * The build plan of `packages` as things are now, and the records it was made from; no
 * store means nothing was built. Prepared without a store, so it writes nothing.
 */
export async function planNow(opts: { metadata: Metadata; store?: Store; runner: Runner; mirrorsDir: string; packages: string[] }): Promise<Result<{ plan: Map<string, PlanEntry>; records: { get(key: string): BuildRecord | undefined } }, WeldError>> {
  let records: Awaited<ReturnType<typeof loadRecords>> = ok({ byKey: () => undefined, newest: () => undefined, get: () => undefined });
  if (opts.store) records = await loadRecords({ store: opts.store });
  if (!records.ok) return records;
  const packages = opts.metadata.graph.subgraph(opts.packages).order();
  const prepared = await preparePlan({ metadata: opts.metadata, runner: opts.runner, mirrorsDir: opts.mirrorsDir, packages, records: records.value });
  return ok({ plan: planBuild({ ctx: prepared.ctx, targets: opts.packages }), records: records.value });
}

function missingReason(entry: PlanEntry): string {
  switch (entry.state) {
    case 'cached':
      return 'its record vanished while reading';
    case 'build':
      return entry.changed[0] === 'never built' ? 'never built' : `not built since its inputs changed: ${entry.changed.join('; ')}`;
    case 'pending':
      return `not built: ${entry.waitingOn.join(', ')} must build first`;
    case 'unmirrored':
      return entry.reason;
    case 'blocked':
      return `requires ${entry.by.join(', ')}, which cannot build`;
  }
}
