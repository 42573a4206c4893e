import { rm, stat } from 'node:fs/promises';
import type { Result } from '../core/result.js';
import { listBlobs } from './blobs.js';
import type { Digest } from './digest.js';
import { STAT_CACHE_PREFIX } from './ingest.js';
import { blobPath, cleanTmp } from './layout.js';
import { decodeRecord, referencedDigests, type RecordKind } from './records.js';
import type { IndexError, Store } from './store.js';

/** A blob to keep, or a record whose blobs to keep. */
export type GcRoot = Digest | { kind: RecordKind; id: string };

export interface GcOptions {
  /** kept in addition to the named roots */
  roots?: GcRoot[];
  /**
   * Treat every record as a root (default true). Callers that know which builds are
   * still wanted pass false and list those in `roots` (root and compose records are
   * always roots); unreachable records then go together with their blobs, so no
   * record is left pointing at nothing.
   */
  keepRecords?: boolean;
  /** report what would go, remove nothing */
  dryRun?: boolean;
  /**
   * Unreferenced blobs younger than this survive (default 15 minutes): a running build
   * puts its outputs before it writes the record that names them.
   */
  graceMs?: number;
}

export interface GcReport {
  dryRun: boolean;
  removed: Array<{ digest: Digest; size: number }>;
  bytesFreed: number;
  removedRecords: string[];
  kept: number;
  keptBytes: number;
  /** unreferenced but younger than the grace period */
  young: number;
  graceMs: number;
}

// The index is held throughout: writeRecords checks blobs under the same lock, so a
// record can never be written for a blob this gc is removing.
export async function gc(opts: GcOptions & { store: Store }): Promise<Result<GcReport, IndexError>> {
  const graceMs = opts.graceMs ?? 15 * 60_000;
  const keepRecords = opts.keepRecords ?? true;
  return opts.store.withIndex(opts.dryRun ? 'gc --dry-run' : 'gc', async (s) => {
    const live = new Set<Digest>();
    const wanted = new Set<string>();
    for (const r of opts.roots ?? []) (typeof r === 'string' ? live.add(r) : wanted.add(`r/${r.kind}/${r.id}`));
    const unreachable: string[] = [];
    for await (const [key, value] of s.rawRecords()) {
      const decoded = decodeRecord(key, value);
      // A record we cannot read may name blobs we cannot see: keep everything it might need by keeping it.
      if (!decoded.ok) continue;
      // Roots and composes (wheelhouses and images a user made on purpose) always stay.
      const kind = decoded.value.kind;
      if (keepRecords || kind === 'root' || kind === 'compose' || wanted.has(key)) for (const d of referencedDigests(decoded.value)) live.add(d);
      else unreachable.push(key);
    }
    const report: GcReport = { dryRun: opts.dryRun ?? false, removed: [], bytesFreed: 0, removedRecords: unreachable, kept: 0, keptBytes: 0, young: 0, graceMs };
    const now = Date.now();
    for await (const e of listBlobs(s.layout)) {
      if (e.kind !== 'blob') continue;
      const st = await stat(e.path).catch(() => undefined);
      if (!st) continue;
      if (live.has(e.digest)) {
        report.kept++;
        report.keptBytes += st.size;
      } else if (now - st.mtimeMs < graceMs) {
        report.young++;
        report.kept++;
        report.keptBytes += st.size;
      } else {
        report.removed.push({ digest: e.digest, size: st.size });
        report.bytesFreed += st.size;
      }
    }
    if (report.dryRun) return report;
    // Records first: a crash in between leaves unreferenced blobs (the next gc takes
    // them), never records without their blobs.
    await s.batch(unreachable.map((key) => ({ type: 'del' as const, key })));
    const gone = new Set<Digest>();
    for (const r of report.removed) {
      await rm(blobPath(s.layout, r.digest), { force: true });
      gone.add(r.digest);
    }
    const stale: string[] = [];
    for await (const [key, value] of s.db.iterator({ gte: STAT_CACHE_PREFIX, lt: STAT_CACHE_PREFIX + '\xff' })) {
      const d = (JSON.parse(value) as { digest?: Digest }).digest;
      if (!d || gone.has(d)) stale.push(key);
    }
    await s.batch(stale.map((key) => ({ type: 'del' as const, key })));
    await cleanTmp(s.layout);
    return report;
  });
}
