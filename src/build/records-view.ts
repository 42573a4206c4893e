import type { WeldError } from '../core/errors.js';
import { ok, type Result } from '../core/result.js';
import type { RecordsLookup } from '../plan/plan.js';
import type { BuildRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

/** Every usable build record, read in one index session: what the planner looks things up in. */
export async function loadRecords(opts: { store: Store }): Promise<Result<RecordsLookup & { get(key: string): BuildRecord | undefined }, WeldError>> {
  const listed = await opts.store.listRecords({ kind: 'build' });
  if (!listed.ok) return listed;
  const byKey = new Map<string, BuildRecord>();
  const newest = new Map<string, BuildRecord>();
  for (const r of listed.value) {
    // Undecodable and broken records are cache misses: the build runs again and replaces them.
    if (!r.ok || r.value.broken) continue;
    const b = r.value.data as BuildRecord;
    byKey.set(b.cacheKey, b);
    const prev = newest.get(b.package);
    if (!prev || prev.timings.finishedAt < b.timings.finishedAt) newest.set(b.package, b);
  }
  return ok({ byKey: (k) => byKey.get(k), newest: (p) => newest.get(p), get: (k) => byKey.get(k) });
}
