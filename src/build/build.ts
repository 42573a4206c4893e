import path from 'node:path';
import type { WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import type { Metadata } from '../metadata/model.js';
import { executeBuild, type BuildSummary, type ExecuteOptions } from './executor.js';
import { PrepareStoreError, preparePlan } from './prepare.js';
import { loadRecords } from './records-view.js';

/** What `weld build` is asked for: the executor's options less what build() derives itself. */
export type BuildOptions = Omit<ExecuteOptions, 'ctx' | 'recipes' | 'repairStep' | 'recordOf' | 'logsDir'> & {
  /** `--repair-policy`: every wheel's repair policy for this run, over the metadata's */
  repairPolicy?: string;
};

/** `weld build` as a library call: read the records, gather digests, walk the DAG. */
export async function build(o: BuildOptions): Promise<Result<BuildSummary, WeldError>> {
  const records = await loadRecords({ store: o.store });
  if (!records.ok) return records;
  const packages = o.metadata.graph.subgraph(o.targets).order();
  let prepared;
  try {
    prepared = await preparePlan({ metadata: o.metadata, runner: o.runner, mirrorsDir: o.mirrorsDir, packages, records: records.value, store: o.store, ...(o.repairPolicy ? { repairPolicy: o.repairPolicy } : {}) });
  } catch (e: unknown) {
    if (e instanceof PrepareStoreError) return err(e);
    throw e;
  }
  for (const message of prepared.warnings) o.onEvent?.({ type: 'warning', message });
  const summary = await executeBuild({
    ...o,
    ctx: prepared.ctx,
    recipes: prepared.recipes,
    ...(prepared.repairStep ? { repairStep: prepared.repairStep } : {}),
    recordOf: (k) => records.value.get(k),
    logsDir: logsDirOf(o.metadata),
  });
  return ok(summary);
}

/** Live and failed build logs: <root>/.weld/logs/<pkg>.log. */
export function logsDirOf(metadata: Metadata): string {
  return path.join(metadata.root, '.weld', 'logs');
}
