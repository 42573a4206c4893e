import type { BuildRecord } from '../store/records.js';

// A package's builds over time and what changed before each: the store's index keeps a
// package's build records under it (x/package/<name>/<key>); each build is compared with
// the one before it for the same arch, input by input, on the inputs its cache key is
// made of (DESIGN.md "Builds"). Pure: records in, history out.

export interface HistoryEntry {
  key: string;
  version: string;
  release: number;
  arch: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  runner: string;
  outputs: Array<{ name: string; digest: string; size: number }>;
  log: string | null;
  provenance: string | null;
  /** why this build's key differs from the previous one of its arch; empty for the first */
  changed: string[];
  /** the key of the build it is compared with */
  previous?: string;
  broken?: boolean;
}

const short = (s: string) => s.replace(/^sha256:/, '').slice(0, 12);

/** What differs between two builds' key inputs, as sentences a packager reads. */
export function changedInputs(before: BuildRecord, after: BuildRecord): string[] {
  const out: string[] = [];
  if (before.version !== after.version) out.push(`version ${before.version} → ${after.version}`);
  if (before.release !== after.release) out.push(`release ${before.release} → ${after.release}`);
  if (before.sourceTree !== after.sourceTree) out.push(`source tree ${short(before.sourceTree)} → ${short(after.sourceTree)}`);
  if (before.recipe.name !== after.recipe.name) out.push(`recipe ${before.recipe.name} → ${after.recipe.name}`);
  else if (before.recipe.digest !== after.recipe.digest) out.push(`recipe ${after.recipe.name} ${short(before.recipe.digest)} → ${short(after.recipe.digest)}`);
  if (before.envImage !== after.envImage) out.push(`env image ${short(before.envImage)} → ${short(after.envImage)}`);
  const deps = new Set([...Object.keys(before.dependencies), ...Object.keys(after.dependencies)]);
  for (const d of [...deps].sort()) {
    const a = before.dependencies[d];
    const b = after.dependencies[d];
    if (!a) out.push(`dependency ${d} added`);
    else if (!b) out.push(`dependency ${d} removed`);
    else if (a.join(',') !== b.join(',')) out.push(`dependency ${d}'s outputs ${a.map(short).join(',')} → ${b.map(short).join(',')}`);
  }
  if (before.repair?.program !== after.repair?.program && before.repair && after.repair) out.push(`wheel repair program ${short(before.repair.program)} → ${short(after.repair.program)}`);
  // The key also holds the build vars and the repair policy, which a record does not keep.
  if (!out.length && before.cacheKey !== after.cacheKey) out.push('build vars or repair policy (the record keeps neither; the cache key differs)');
  return out;
}

/** Newest first; each entry says what changed since the build before it of the same arch. */
export function packageHistory(records: Array<{ record: BuildRecord; broken: boolean }>): HistoryEntry[] {
  const byTime = [...records].sort((a, b) => (a.record.timings.startedAt < b.record.timings.startedAt ? -1 : a.record.timings.startedAt > b.record.timings.startedAt ? 1 : 0));
  const lastOfArch = new Map<string, BuildRecord>();
  const out: HistoryEntry[] = [];
  for (const { record: r, broken } of byTime) {
    const prev = lastOfArch.get(r.arch);
    out.push({
      key: r.cacheKey,
      version: r.version,
      release: r.release,
      arch: r.arch,
      startedAt: r.timings.startedAt,
      finishedAt: r.timings.finishedAt,
      durationMs: r.timings.durationMs,
      runner: r.runner,
      outputs: r.outputs,
      log: r.log,
      provenance: r.provenance,
      changed: prev ? changedInputs(prev, r) : [],
      ...(prev ? { previous: prev.cacheKey } : {}),
      ...(broken ? { broken: true } : {}),
    });
    lastOfArch.set(r.arch, r);
  }
  return out.reverse();
}
