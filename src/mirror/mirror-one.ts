import path from 'node:path';
import { err, ok, type Result } from '../core/result.js';
import type { WeldError } from '../core/errors.js';
import type { Metadata, Package } from '../metadata/model.js';
import { DebianArchive, mirrorDebianUpstream } from './debian/debian-upstream.js';
import { buildDistroBranch } from './distro.js';
import { MirrorRepoError } from './errors.js';
import { mirrorGitUpstream } from './git-upstream.js';
import type { MirrorOptions, PackageMirror } from './mirror.js';
import type { PatchInput } from './patches/series.js';
import { openMirror } from './repo.js';
import { mirrorTarballUpstream } from './tarball-upstream.js';

export { DebianArchive };

async function distroPatches(metadata: Metadata, pkg: Package): Promise<PatchInput[]> {
  const out: PatchInput[] = [];
  for (const file of pkg.patches) out.push({ name: file.slice(file.lastIndexOf('/') + 1), text: (await metadata.read(file)) ?? '' });
  return out;
}

/**
 * Mirrors one package whose mirror is not up to date: upstream first, then the distro
 * branch. A failure of git or the disk (they throw) stays with this package, so the
 * others still finish and the lock still records them.
 */
export async function mirrorOne(opts: MirrorOptions & { archive: DebianArchive; pkg: Package; inputs: string }): Promise<Result<PackageMirror, WeldError>> {
  try {
    return await mirrorOneUnguarded(opts);
  } catch (e: unknown) {
    return err(new MirrorRepoError(`${opts.pkg.name}: ${e instanceof Error ? e.message : String(e)}`, 'fix the cause (disk space, permissions, a damaged mirror: move mirrors/<pkg>.git away) and run weld mirror again'));
  }
}

async function mirrorOneUnguarded(opts: MirrorOptions & { archive: DebianArchive; pkg: Package; inputs: string }): Promise<Result<PackageMirror, WeldError>> {
  const started = performance.now();
  const { metadata, pkg, inputs } = opts;
  opts.onEvent?.({ type: 'start', pkg: pkg.name });
  const opened = await openMirror({ mirrorsDir: opts.mirrorsDir, pkg: pkg.name });
  if (!opened.ok) return opened;
  const repo = opened.value;
  const seconds = () => (performance.now() - started) / 1000;
  const common = { repo, pkg: pkg.name, version: pkg.version, ...(opts.onEvent ? { onEvent: opts.onEvent } : {}), ...(metadata.distro.mirror ? { limits: metadata.distro.mirror } : {}) };
  const u = pkg.upstream;
  let upstream: Result<{ commit: string; fetched?: boolean; imported?: boolean; patches?: PatchInput[] }, WeldError>;
  if (u.kind === 'git') {
    // Relative local paths in metadata are relative to the project root.
    const url = /^[a-z]+:/.test(u.url) ? u.url : path.resolve(metadata.root, u.url);
    upstream = await mirrorGitUpstream({ ...common, url, ...(u.tag !== undefined ? { tag: u.tag } : {}), ...(u.commit !== undefined ? { commit: u.commit } : {}), ...(u.branch !== undefined ? { branch: u.branch } : {}), ...(opts.refresh ? { refresh: true } : {}), ...(opts.env ? { env: opts.env } : {}) });
  } else {
    const store = await opts.store();
    if (!store.ok) return store;
    if (u.kind === 'tarball') {
      upstream = await mirrorTarballUpstream({ ...common, store: store.value, url: u.url, sha256: u.sha256 });
    } else {
      const env = metadata.envs.get(pkg.env)!;
      upstream = await mirrorDebianUpstream({ ...common, store: store.value, archive: opts.archive, source: u.source, suite: u.suite ?? env.suite, components: env.components, debianPatches: u.debianPatches, ...(opts.refresh ? { refresh: true } : {}) });
    }
  }
  if (!upstream.ok) return upstream;
  // Debian's own patches first (they fit the .orig), then the distro's.
  const patches = [...(upstream.value.patches ?? []), ...(await distroPatches(metadata, pkg))];
  const distro = await buildDistroBranch({ ...common, release: pkg.release, upstream: upstream.value.commit, patches });
  if (!distro.ok) return distro;
  return ok({
    pkg: pkg.name,
    upToDate: false,
    lock: { inputs, upstream: upstream.value.commit, distro: distro.value.commit, tree: distro.value.tree },
    fetched: upstream.value.fetched ?? upstream.value.imported ?? false,
    seconds: seconds(),
  });
}

