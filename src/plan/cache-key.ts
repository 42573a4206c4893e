import { sha256Of, type Digest } from '../core/digest.js';

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
  return sha256Of(JSON.stringify(keyDocument(inputs)));
}

/**
 * The inputs as an object whose keys are already in canonical (sorted) order, so the
 * native serializer gives canonicalJson's exact text without a replacer: a no-op plan
 * computes a key per package, and the replacer was most of that. Every key of KeyInputs
 * appears here; cache-key.test.ts checks the text equals canonicalJson's.
 */
function keyDocument(i: KeyInputs): unknown {
  // Most objects here are empty or one entry long (no vars, one output per dependency):
  // the copies and sorts are skipped for them, which a no-op plan of 1,000 keys notices.
  const sorted = <T>(o: Record<string, T>, f?: (v: T) => unknown) => {
    const keys = Object.keys(o);
    if (keys.length === 0) return o;
    const out: Record<string, unknown> = {};
    for (const k of keys.length > 1 ? keys.sort() : keys) out[k] = f ? f(o[k]!) : o[k];
    return out;
  };
  return {
    arch: i.arch,
    deps: sorted(i.deps, (ds) => (ds.length > 1 ? [...ds].sort() : ds)),
    envImage: i.envImage,
    kind: i.kind,
    package: i.package,
    recipe: { digest: i.recipe.digest, name: i.recipe.name },
    ...(i.repair ? { repair: { policy: i.repair.policy, program: i.repair.program } } : {}),
    sourceDateEpoch: i.sourceDateEpoch,
    sourceTree: i.sourceTree,
    v: 1,
    vars: sorted(i.vars),
    version: i.version,
  };
}
