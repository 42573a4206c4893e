import { sha256Of, canonicalJson, type Digest } from '../core/digest.js';

/**
 * Everything that can change what a build produces. Each field is here for a reason;
 * leaving one out would let a cache hit hand back stale bytes.
 */
export interface KeyInputs {
  /** recipes see WELD_PACKAGE, and records are per package: two packages never share a build */
  package: string;
  /** recipes see WELD_VERSION (wheel metadata, file names) */
  version: string;
  /** wheel or pack decides which outputs are collected */
  kind: string;
  /** the git tree of the distro commit (lock `tree`): the exact source, patches applied */
  sourceTree: string;
  /** the recipe script plus the recipes/lib/*.sh it sources: the build's instructions */
  recipe: { name: string; digest: Digest };
  /** the builder image (podman) or the host description (local): the toolchain */
  envImage: Digest;
  /** the target architecture: the same source builds to different bytes per arch */
  arch: string;
  /** [build] vars reach the recipe as environment */
  vars: Record<string, string>;
  /**
   * OUTPUT digests of the build dependencies (not their keys): a dependency that
   * rebuilds to identical bytes leaves its dependents' keys, and so their cache hits, alone.
   */
  deps: Record<string, Digest[]>;
  /**
   * SOURCE_DATE_EPOCH is derived from the distro commit, which `sourceTree` does not pin
   * (same tree, other date): recipes stamp it into outputs.
   */
  sourceDateEpoch: number;
  /**
   * Wheels only: the repair step rewrites the recipe's wheel, so its policy (the tag it
   * aims for, or none) and the repair program's digest decide the stored bytes too.
   */
  repair?: { policy: string; program: Digest };
}

/** The cache key: sha256 of the canonical JSON of the inputs (output digests sorted per dep). */
export function cacheKey(inputs: KeyInputs): Digest {
  const deps = Object.fromEntries(Object.entries(inputs.deps).map(([k, ds]) => [k, [...ds].sort()]));
  return sha256Of(canonicalJson({ v: 1, ...inputs, deps }));
}
