import { rm, stat } from 'node:fs/promises';
import { ok, type Result } from '../core/result.js';
import { hashFile, listBlobs } from './blobs.js';
import type { Digest } from './digest.js';
import { STAT_CACHE_PREFIX } from './ingest.js';
import { cleanTmp } from './layout.js';
import { decodeRecord, encodeRecord, referencedDigests, withMark, type BrokenMark, type StoredRecord } from './records.js';
import type { IndexError, Store } from './store.js';

export interface VerifyOptions {
  /** re-hash every blob (default true); false checks only presence and names */
  contents?: boolean;
  /** remove bad blobs, mark records that lost blobs broken (and unmark those whose blobs are back) */
  repair?: boolean;
}

export interface VerifyReport {
  blobs: number;
  bytes: number;
  contentsChecked: boolean;
  /** blobs whose content no longer hashes to their name */
  corrupt: Array<{ digest: Digest; actual: Digest; path: string }>;
  /** files under blobs/ whose names are not digests */
  strays: string[];
  /** blobs that unbroken records name but the store lacks (or has corrupt), with those records */
  missing: Array<{ digest: Digest; neededBy: string[] }>;
  /** records this weld cannot decode; left as they are */
  undecodable: Array<{ key: string; message: string }>;
  /** records that point at missing blobs and are not yet marked broken */
  brokenRecords: string[];
  /** records marked broken by an earlier repair that still lack blobs: known, not a new problem */
  alreadyBroken: string[];
  repaired: null | { removedBlobs: Digest[]; removedStrays: string[]; markedBroken: string[]; unmarked: string[]; tmpFilesRemoved: number };
  ok: boolean;
}

/**
 * Blobs are hashed without holding the index (that can take minutes); the record
 * pass then holds it, so what it marks is consistent with what it saw.
 */
export async function verify(opts: VerifyOptions & { store: Store }): Promise<Result<VerifyReport, IndexError>> {
  const { store } = opts;
  const contents = opts.contents ?? true;
  const report: VerifyReport = { blobs: 0, bytes: 0, contentsChecked: contents, corrupt: [], strays: [], missing: [], undecodable: [], brokenRecords: [], alreadyBroken: [], repaired: null, ok: true };
  const present = new Set<Digest>();
  for await (const entry of listBlobs(store.layout)) {
    if (entry.kind === 'stray') {
      report.strays.push(entry.path);
      continue;
    }
    const size = await stat(entry.path).then((s) => s.size, () => -1);
    if (size < 0) continue; // gc took it while we were looking
    report.blobs++;
    report.bytes += size;
    if (contents) {
      const actual = await hashFile(entry.path).catch(() => undefined);
      if (actual === undefined) continue;
      if (actual !== entry.digest) {
        report.corrupt.push({ digest: entry.digest, actual, path: entry.path });
        continue;
      }
    }
    present.add(entry.digest);
  }
  const repaired = { removedBlobs: [] as Digest[], removedStrays: [] as string[], markedBroken: [] as string[], unmarked: [] as string[], tmpFilesRemoved: 0 };
  if (opts.repair) {
    for (const c of report.corrupt) {
      await rm(c.path, { force: true });
      repaired.removedBlobs.push(c.digest);
    }
    for (const s of report.strays) {
      await rm(s, { force: true, recursive: true });
      repaired.removedStrays.push(s);
    }
    repaired.tmpFilesRemoved = await cleanTmp(store.layout);
  }
  const pass = await store.withIndex(opts.repair ? 'verify --repair' : 'verify', async (s) => {
    const missing = new Map<Digest, string[]>();
    const marks: Array<{ key: string; record: StoredRecord; mark: BrokenMark | null }> = [];
    const staleCache: string[] = [];
    for await (const [key, value] of s.rawRecords()) {
      const decoded = decodeRecord(key, value);
      if (!decoded.ok) {
        report.undecodable.push({ key, message: decoded.error.message });
        continue;
      }
      const r: StoredRecord = decoded.value;
      const lost = referencedDigests(r).filter((d) => !present.has(d));
      if (lost.length && r.broken) report.alreadyBroken.push(key);
      if (lost.length && !r.broken) {
        report.brokenRecords.push(key);
        for (const d of lost) missing.set(d, [...(missing.get(d) ?? []), key]);
      }
      if (lost.length && !r.broken) marks.push({ key, record: r, mark: { at: new Date().toISOString(), missing: lost, reason: 'blobs missing or corrupt at verify' } });
      if (!lost.length && r.broken) marks.push({ key, record: r, mark: null });
    }
    for await (const [key, value] of s.db.iterator({ gte: STAT_CACHE_PREFIX, lt: STAT_CACHE_PREFIX + '\xff' })) {
      const d = (JSON.parse(value) as { digest?: Digest }).digest;
      if (!d || !present.has(d)) staleCache.push(key);
    }
    report.missing = [...missing].map(([digest, neededBy]) => ({ digest, neededBy }));
    if (opts.repair) {
      const wrote = await s.batch([
        ...marks.map(({ key, record, mark }) => ({ type: 'put' as const, key, value: encodeRecord(withMark(record, mark)) })),
        ...staleCache.map((key) => ({ type: 'del' as const, key })),
      ]);
      if (wrote.ok) {
        for (const m of marks) (m.mark ? repaired.markedBroken : repaired.unmarked).push(m.key);
      }
    }
  });
  if (!pass.ok) return pass;
  if (opts.repair) report.repaired = repaired;
  report.ok = report.corrupt.length === 0 && report.strays.length === 0 && report.missing.length === 0 && report.undecodable.length === 0;
  return ok(report);
}
