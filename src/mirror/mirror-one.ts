import { err, ok, type Result } from '../core/result.js';
import type { WeldError } from '../core/errors.js';
import type { Metadata, Package } from '../metadata/model.js';
import { DebianArchive, mirrorDebianUpstream } from './debian/debian-upstream.js';
import { buildDistroBranch } from './distro.js';
import { allowedRoots, checkLocalPath, localPathOf } from '../metadata/local-paths.js';
import { LocalSourceRefusedError, MirrorRepoError } from './errors.js';
import { mirrorGitUpstream } from './git-upstream.js';
import type { MirrorOptions, PackageMirror } from './mirror.js';
import type { PatchInput } from './patches/series.js';
import type { RefUpdate } from './refs.js';
import { discardStage, openStage, publishStage, type Stage } from './stage.js';
import { mirrorTarballUpstream } from './tarball-upstream.js';
import { mirrorEvent } from './events.js';

export { DebianArchive };

const localRoots = (opts: MirrorOptions): string[] =>
  allowedRoots({ root: opts.metadata.root, ...(opts.metadata.distro.allowPaths ? { allowPaths: opts.metadata.distro.allowPaths } : {}), ...(opts.env ? { env: opts.env } : {}) });

async function distroPatches(metadata: Metadata, pkg: Package): Promise<PatchInput[]> {
  const out: PatchInput[] = [];
  for (const file of pkg.patches) out.push({ name: file.slice(file.lastIndexOf('/') + 1), text: (await metadata.read(file)) ?? '' });
  return out;
}

/**
 * Mirrors one package whose mirror is not up to date: upstream first, then the distro
 * branch, in a stage beside the mirror that is published only when all of it worked.
 * A failure of git or the disk (they throw) stays with this package, so the others
 * still finish and the lock still records them.
 */
export async function mirrorOne(opts: MirrorOptions & { archive: DebianArchive; pkg: Package; inputs: string }): Promise<Result<PackageMirror, WeldError>> {
  const staged = await openStage({ mirrorsDir: opts.mirrorsDir, pkg: opts.pkg.name });
  if (!staged.ok) return staged;
  try {
    return await mirrorOneUnguarded({ ...opts, stage: staged.value });
  } catch (e: unknown) {
    return err(unexpected({ pkg: opts.pkg.name, gitdir: staged.value.target, error: e }));
  } finally {
    discardStage(staged.value);
  }
}

/**
 * A failure of git or the disk (they throw). The hint is one that fits: the disk's,
 * a damaged mirror's, or none for what weld cannot explain (a bug to report).
 */
function unexpected(opts: { pkg: string; gitdir: string; error: unknown }): MirrorRepoError {
  const e = opts.error as NodeJS.ErrnoException & { code?: string };
  const text = `${opts.pkg}: ${e instanceof Error ? e.message : String(e)}`;
  if (e?.code === 'ENOSPC' || e?.code === 'EDQUOT') return new MirrorRepoError(text, `free disk space where ${opts.gitdir} lives, then run weld mirror again`);
  if (e?.code === 'EACCES' || e?.code === 'EPERM' || e?.code === 'EROFS') return new MirrorRepoError(text, `check that ${opts.gitdir} and its directory are writable by you, then run weld mirror again`);
  // isomorphic-git's own words for an object or ref it cannot read: the mirror is damaged
  if (e?.code === 'NotFoundError' || e?.code === 'ObjectTypeError' || e?.code === 'InternalError') {
    return new MirrorRepoError(text, `the mirror looks damaged: move ${opts.gitdir} away and run weld mirror again (it is recreated)`);
  }
  return new MirrorRepoError(text);
}

async function mirrorOneUnguarded(opts: MirrorOptions & { archive: DebianArchive; pkg: Package; inputs: string; stage: Stage }): Promise<Result<PackageMirror, WeldError>> {
  const started = performance.now();
  const { metadata, pkg, inputs } = opts;
  opts.onEvent?.(mirrorEvent(pkg.name, 'mirroring', {}));
  const repo = opts.stage.repo;
  const seconds = () => (performance.now() - started) / 1000;
  const common = { repo, pkg: pkg.name, version: pkg.version, ...(opts.onEvent ? { onEvent: opts.onEvent } : {}), ...(metadata.distro.mirror ? { limits: metadata.distro.mirror } : {}) };
  const u = pkg.upstream;
  let upstream: Result<{ commit: string; fetched?: boolean; imported?: boolean; patches?: PatchInput[]; refs: RefUpdate[] }, WeldError>;
  if (u.kind === 'git') {
    // Relative local paths are relative to the project root; a local upstream is checked
    // again here (weld check did too), since it may have become a symlink since.
    const local = localPathOf({ url: u.url, root: metadata.root });
    const checked = local === undefined ? undefined : checkLocalPath({ path: local, roots: localRoots(opts) });
    if (checked && !checked.ok) return err(new LocalSourceRefusedError(`${pkg.name}: ${checked.message}`));
    const url = checked?.real ?? u.url;
    upstream = await mirrorGitUpstream({ ...common, url, ...(u.tag !== undefined ? { tag: u.tag } : {}), ...(u.commit !== undefined ? { commit: u.commit } : {}), ...(u.branch !== undefined ? { branch: u.branch } : {}), ...(opts.refresh ? { refresh: true } : {}), ...(opts.env ? { env: opts.env } : {}) });
  } else {
    const store = await opts.store();
    if (!store.ok) return store;
    if (u.kind === 'tarball') {
      upstream = await mirrorTarballUpstream({ ...common, store: store.value, url: u.url, sha256: u.sha256, localRoots: localRoots(opts) });
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
  // Only now, with every object in place, does the mirror itself change.
  const published = await publishStage({ stage: opts.stage, updates: [...upstream.value.refs, ...distro.value.refs] });
  if (!published.ok) return published;
  return ok({
    pkg: pkg.name,
    upToDate: false,
    lock: { inputs, upstream: upstream.value.commit, distro: distro.value.commit, tree: distro.value.tree },
    fetched: upstream.value.fetched ?? upstream.value.imported ?? false,
    seconds: seconds(),
  });
}

