import { err, ok, type Result } from '../core/result.js';
import type { WeldError } from '../core/errors.js';
import { mirrorEvent, type MirrorListener } from './events.js';
import { DISTRO_IDENTITY } from './identity.js';
import { applyPatchSeries, type PatchInput } from './patches/series.js';
import type { RefUpdate } from './refs.js';
import { readCommit, type MirrorRepo } from './repo.js';
import { distroTagRef, upstreamTag } from '../metadata/names.js';

/**
 * `distro` = `upstream/<version>` + the patches, one commit each, tagged
 * `distro/<version>-<release>`. HEAD of the mirror is `distro`, so a plain
 * `git clone mirrors/<pkg>.git` checks out what weld builds.
 */
export async function buildDistroBranch(opts: {
  repo: MirrorRepo;
  pkg: string;
  version: string;
  release: number;
  upstream: string;
  patches: PatchInput[];
  onEvent?: MirrorListener;
}): Promise<Result<{ commit: string; tree: string; refs: RefUpdate[] }, WeldError>> {
  if (opts.patches.length) opts.onEvent?.(mirrorEvent(opts.pkg, 'phase', { phase: 'patch', detail: `${opts.patches.length} patch${opts.patches.length === 1 ? '' : 'es'}` }));
  const series = await applyPatchSeries({ gitdir: opts.repo.gitdir, base: opts.upstream, baseName: upstreamTag(opts.version), patches: opts.patches, committer: DISTRO_IDENTITY });
  if (!series.ok) return err(series.error);
  const commit = series.value.head;
  // written by the caller with the upstream refs, once everything exists
  const refs = [
    { ref: 'refs/heads/distro', oid: commit },
    { ref: distroTagRef(opts.version, opts.release), oid: commit },
  ];
  return ok({ commit, tree: (await readCommit(opts.repo, commit)).tree, refs });
}
