import path from 'node:path';
import pLimit from 'p-limit';
import { ok, type Result } from '../core/result.js';
import type { WeldError } from '../core/errors.js';
import type { LockEntry } from '../metadata/lock-file.js';
import type { Metadata, Package } from '../metadata/model.js';
import type { BlobStore } from './blob-store.js';
import type { MirrorListener } from './events.js';
import { inputsDigest } from './inputs.js';
import { readRefFile } from './refs.js';
import { distroTagRef, upstreamTagRef } from '../metadata/names.js';
import { mirrorPath } from './location.js';

export interface MirrorOptions {
  metadata: Metadata;
  /** normalised package names, in any order */
  packages: string[];
  mirrorsDir: string;
  /** opened only when something must be downloaded */
  store: () => Promise<Result<BlobStore, WeldError>>;
  /** re-contact upstreams even when everything pinned is already mirrored */
  refresh?: boolean;
  /** packages mirrored at once (network-bound; default 4) */
  jobs?: number;
  env?: NodeJS.ProcessEnv;
  /** where apt's sources are read from (tests point it elsewhere) */
  aptDir?: string;
  onEvent?: MirrorListener;
}

export interface PackageMirror {
  pkg: string;
  /** nothing to do: the lock, the inputs and the mirror's tags all agree */
  upToDate: boolean;
  lock: LockEntry;
  /** whether the network was used (a fetch or a download) */
  fetched: boolean;
  seconds: number;
}

export type MirrorOutcome = Map<string, Result<PackageMirror, WeldError>>;

/** Where the mirrors live: a flag, WELD_MIRRORS, `[paths] mirrors`, then <root>/mirrors. */
export function mirrorsDirFor(opts: { metadata: Metadata; flag?: string; env?: NodeJS.ProcessEnv; cwd: string }): string {
  if (opts.flag) return path.resolve(opts.cwd, opts.flag);
  const fromEnv = opts.env?.['WELD_MIRRORS'];
  if (fromEnv) return path.resolve(opts.cwd, fromEnv);
  return path.resolve(opts.metadata.root, opts.metadata.distro.mirrorsPath ?? 'mirrors');
}

/** True when the mirror already holds exactly what the lock says for these inputs. */
function upToDate(gitdir: string, pkg: Package, lock: LockEntry | undefined, inputs: string): boolean {
  if (!lock || lock.inputs !== inputs) return false;
  return readRefFile(gitdir, distroTagRef(pkg.version, pkg.release)) === lock.distro && readRefFile(gitdir, upstreamTagRef(pkg.version)) === lock.upstream;
}

/**
 * Mirrors the packages in parallel (up to `jobs`). One package failing does not stop
 * the others; each gets its own result.
 */
export async function mirrorPackages(opts: MirrorOptions): Promise<MirrorOutcome> {
  const pkgs = opts.packages.map((n) => opts.metadata.packages.get(n)).filter((p): p is Package => p !== undefined);
  const results: Array<[string, Result<PackageMirror, WeldError>]> = [];
  const work: Array<{ pkg: Package; inputs: string }> = [];
  for (const pkg of pkgs) {
    const started = performance.now();
    const inputs = await inputsDigest({ metadata: opts.metadata, pkg });
    const locked = opts.metadata.lock[pkg.name];
    if (!opts.refresh && locked && upToDate(mirrorPath(opts.mirrorsDir, pkg.name), pkg, locked, inputs)) {
      results.push([pkg.name, ok({ pkg: pkg.name, upToDate: true, lock: locked, fetched: false, seconds: (performance.now() - started) / 1000 })]);
    } else work.push({ pkg, inputs });
  }
  if (work.length) {
    // The git and download machinery loads only when there is work for it.
    const { mirrorOne, DebianArchive } = await import('./mirror-one.js');
    const wanted = new Set(work.flatMap(({ pkg }) => (pkg.upstream.kind === 'debian' ? [pkg.upstream.source] : [])));
    const archive = new DebianArchive({ wanted, ...(opts.env ? { env: opts.env } : {}), ...(opts.aptDir ? { aptDir: opts.aptDir } : {}) });
    const limit = pLimit(Math.max(1, opts.jobs ?? 4));
    results.push(...(await Promise.all(work.map(({ pkg, inputs }) => limit(async (): Promise<[string, Result<PackageMirror, WeldError>]> => [pkg.name, await mirrorOne({ ...opts, archive, pkg, inputs })])))));
  }
  return new Map(results.sort(([a], [b]) => (a < b ? -1 : 1)));
}

export type LockStatus = { pkg: string; status: 'ok' | 'missing' | 'stale' | 'not-mirrored'; detail: string };

/** `weld mirror --check`: what the lock says against the inputs and the mirrors, changing nothing. */
export async function checkLock(opts: { metadata: Metadata; packages: string[]; mirrorsDir: string }): Promise<LockStatus[]> {
  const out: LockStatus[] = [];
  for (const name of [...opts.packages].sort()) {
    const pkg = opts.metadata.packages.get(name);
    if (!pkg) continue;
    const lock = opts.metadata.lock[name];
    if (!lock) {
      out.push({ pkg: name, status: 'missing', detail: 'not in weld.lock: run `weld mirror ' + name + '`' });
      continue;
    }
    if (lock.inputs !== (await inputsDigest({ metadata: opts.metadata, pkg }))) {
      out.push({ pkg: name, status: 'stale', detail: 'upstream, version, release or patches changed since the lock was written' });
      continue;
    }
    const gitdir = mirrorPath(opts.mirrorsDir, name);
    if (readRefFile(gitdir, distroTagRef(pkg.version, pkg.release)) !== lock.distro) {
      out.push({ pkg: name, status: 'not-mirrored', detail: `${gitdir} lacks distro commit ${lock.distro.slice(0, 12)}` });
      continue;
    }
    out.push({ pkg: name, status: 'ok', detail: `distro ${lock.distro.slice(0, 12)}` });
  }
  return out;
}
