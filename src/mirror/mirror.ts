import path from 'node:path';
import pLimit from 'p-limit';
import { ok, type Result } from '../core/result.js';
import type { WeldError } from '../core/errors.js';
import type { LockEntry } from '../metadata/lock-file.js';
import type { Metadata, Package } from '../metadata/model.js';
import type { BlobStore } from './blob-store.js';
import { DebianArchive, mirrorDebianUpstream } from './debian/debian-upstream.js';
import { buildDistroBranch } from './distro.js';
import type { MirrorListener } from './events.js';
import { mirrorGitUpstream } from './git-upstream.js';
import { inputsDigest } from './inputs.js';
import type { PatchInput } from './patches/series.js';
import { mirrorPath, openMirror, peel, readRef, type MirrorRepo } from './repo.js';
import { mirrorTarballUpstream } from './tarball-upstream.js';

export interface MirrorOptions {
  metadata: Metadata;
  /** normalised package names, in any order */
  packages: string[];
  mirrorsDir: string;
  store: BlobStore;
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

/** Resolves where the mirrors live: a flag, WELD_MIRRORS, `[paths] mirrors`, then <root>/mirrors. */
export function mirrorsDirFor(opts: { metadata: Metadata; flag?: string; env?: NodeJS.ProcessEnv; cwd: string }): string {
  if (opts.flag) return path.resolve(opts.cwd, opts.flag);
  const fromEnv = opts.env?.['WELD_MIRRORS'];
  if (fromEnv) return path.resolve(opts.cwd, fromEnv);
  return path.resolve(opts.metadata.root, opts.metadata.distro.mirrorsPath ?? 'mirrors');
}

/** True when the mirror already holds exactly what the lock says for these inputs. */
async function upToDate(repo: MirrorRepo, pkg: Package, lock: LockEntry | undefined, inputs: string): Promise<boolean> {
  if (!lock || lock.inputs !== inputs) return false;
  const distroTag = await readRef(repo, `refs/tags/distro/${pkg.version}-${pkg.release}`);
  const upstreamTag = await readRef(repo, `refs/tags/upstream/${pkg.version}`);
  return !!distroTag && !!upstreamTag && (await peel(repo, distroTag)) === lock.distro && (await peel(repo, upstreamTag)) === lock.upstream;
}

async function distroPatches(metadata: Metadata, pkg: Package): Promise<PatchInput[]> {
  const out: PatchInput[] = [];
  for (const file of pkg.patches) out.push({ name: file.slice(file.lastIndexOf('/') + 1), text: (await metadata.read(file)) ?? '' });
  return out;
}

async function mirrorOne(opts: MirrorOptions & { archive: DebianArchive }, pkg: Package): Promise<Result<PackageMirror, WeldError>> {
  const started = performance.now();
  const { metadata } = opts;
  opts.onEvent?.({ type: 'start', pkg: pkg.name });
  const opened = await openMirror({ mirrorsDir: opts.mirrorsDir, pkg: pkg.name });
  if (!opened.ok) return opened;
  const repo = opened.value;
  const inputs = await inputsDigest({ metadata, pkg });
  const locked = metadata.lock[pkg.name];
  const seconds = () => (performance.now() - started) / 1000;
  if (!opts.refresh && locked && (await upToDate(repo, pkg, locked, inputs))) {
    return ok({ pkg: pkg.name, upToDate: true, lock: locked, fetched: false, seconds: seconds() });
  }
  const common = { repo, pkg: pkg.name, version: pkg.version, ...(opts.onEvent ? { onEvent: opts.onEvent } : {}) };
  const u = pkg.upstream;
  let upstream: Result<{ commit: string; fetched?: boolean; imported?: boolean }, WeldError>;
  if (u.kind === 'git') {
    // Relative local paths in metadata are relative to the project root.
    const url = /^[a-z]+:/.test(u.url) ? u.url : path.resolve(metadata.root, u.url);
    upstream = await mirrorGitUpstream({ ...common, url, ...(u.tag !== undefined ? { tag: u.tag } : {}), ...(u.commit !== undefined ? { commit: u.commit } : {}), ...(opts.refresh ? { refresh: true } : {}), ...(opts.env ? { env: opts.env } : {}) });
  } else if (u.kind === 'tarball') {
    upstream = await mirrorTarballUpstream({ ...common, store: opts.store, url: u.url, sha256: u.sha256 });
  } else {
    const env = metadata.envs.get(pkg.env)!;
    upstream = await mirrorDebianUpstream({ ...common, store: opts.store, archive: opts.archive, source: u.source, suite: env.suite, components: env.components, ...(opts.refresh ? { refresh: true } : {}) });
  }
  if (!upstream.ok) return upstream;
  const distro = await buildDistroBranch({ ...common, release: pkg.release, upstream: upstream.value.commit, patches: await distroPatches(metadata, pkg) });
  if (!distro.ok) return distro;
  return ok({
    pkg: pkg.name,
    upToDate: false,
    lock: { inputs, upstream: upstream.value.commit, distro: distro.value.commit, tree: distro.value.tree },
    fetched: upstream.value.fetched ?? upstream.value.imported ?? false,
    seconds: seconds(),
  });
}

/**
 * Mirrors the packages in parallel (up to `jobs`). One package failing does not stop
 * the others; each gets its own result.
 */
export async function mirrorPackages(opts: MirrorOptions): Promise<MirrorOutcome> {
  const pkgs = opts.packages.map((n) => opts.metadata.packages.get(n)).filter((p): p is Package => p !== undefined);
  const wanted = new Set(pkgs.flatMap((p) => (p.upstream.kind === 'debian' ? [p.upstream.source] : [])));
  const archive = new DebianArchive({ wanted, ...(opts.env ? { env: opts.env } : {}), ...(opts.aptDir ? { aptDir: opts.aptDir } : {}) });
  const limit = pLimit(Math.max(1, opts.jobs ?? 4));
  const results = await Promise.all(
    pkgs.map((p) =>
      limit(async (): Promise<[string, Result<PackageMirror, WeldError>]> => [p.name, await mirrorOne({ ...opts, archive }, p)]),
    ),
  );
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
    const repo: MirrorRepo = { gitdir: mirrorPath(opts.mirrorsDir, name), cache: {} };
    const tag = await readRef(repo, `refs/tags/distro/${pkg.version}-${pkg.release}`);
    if (!tag || (await peel(repo, tag)) !== lock.distro) {
      out.push({ pkg: name, status: 'not-mirrored', detail: `${repo.gitdir} lacks distro commit ${lock.distro.slice(0, 12)}` });
      continue;
    }
    out.push({ pkg: name, status: 'ok', detail: `distro ${lock.distro.slice(0, 12)}` });
  }
  return out;
}
