import type { WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import type { Metadata } from '../metadata/model.js';
import { planBuild, type PlanEntry } from '../plan/plan.js';
import type { Runner } from '../runner/runner.js';
import type { BuildRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { PrepareStoreError, preparePlan } from './prepare.js';
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
  const records = await loadRecords({ store: opts.store });
  if (!records.ok) return records;
  const packages = opts.metadata.graph.subgraph(opts.packages).order();
  let prepared;
  try {
    prepared = await preparePlan({ metadata: opts.metadata, runner: opts.runner, mirrorsDir: opts.mirrorsDir, packages, records: records.value });
  } catch (e: unknown) {
    if (e instanceof PrepareStoreError) return err(e);
    throw e;
  }
  const plan = planBuild({ ctx: prepared.ctx, targets: opts.packages });
  const out = new Map<string, CurrentBuild>();
  for (const pkg of opts.packages) {
    const entry = plan.get(pkg)!;
    const record = entry.state === 'cached' ? records.value.get(entry.key) : undefined;
    out.set(pkg, record ? { state: 'built', record } : { state: 'missing', reason: missingReason(entry) });
  }
  return ok(out);
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
