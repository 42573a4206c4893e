import { createHash } from 'node:crypto';

// src/plan is pure: it never imports the store, so it spells digests itself.
export type Sha256 = `sha256:${string}`;

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
  recipe: { name: string; digest: Sha256 };
  /** the builder image (podman) or the host description (local): the toolchain */
  envImage: Sha256;
  /** the target architecture: the same source builds to different bytes per arch */
  arch: string;
  /** [build] vars reach the recipe as environment */
  vars: Record<string, string>;
  /**
   * OUTPUT digests of the build dependencies (not their keys): a dependency that
   * rebuilds to identical bytes leaves its dependents' keys, and so their cache hits, alone.
   */
  deps: Record<string, Sha256[]>;
  /**
   * SOURCE_DATE_EPOCH is derived from the distro commit, which `sourceTree` does not pin
   * (same tree, other date): recipes stamp it into outputs.
   */
  sourceDateEpoch: number;
  /**
   * Wheels only: the repair step rewrites the recipe's wheel, so its policy (the tag it
   * aims for, or none) and the repair program's digest decide the stored bytes too.
   */
  repair?: { policy: string; program: Sha256 };
}

/**
 * JSON with object keys sorted at every level, so equal values hash equally. The
 * native serializer does the work (a replacer only reorders keys): a no-op build
 * computes a key per package, and a hand-written serializer was most of that time.
 */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_key, value: unknown) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    const o = value as Record<string, unknown>;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(o).sort()) sorted[k] = o[k];
    return sorted;
  });
}

export function sha256Of(text: string | Uint8Array): Sha256 {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** The cache key: sha256 of the canonical JSON of the inputs (output digests sorted per dep). */
export function cacheKey(inputs: KeyInputs): Sha256 {
  const deps = Object.fromEntries(Object.entries(inputs.deps).map(([k, ds]) => [k, [...ds].sort()]));
  return sha256Of(canonicalJson({ v: 1, ...inputs, deps }));
}
