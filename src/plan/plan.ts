import type { Metadata, Package } from '../metadata/model.js';
import { REPAIR_DEFAULT } from '../metadata/repair-policy.js';
import type { Digest } from '../core/digest.js';
import { cacheKey, type KeyInputs } from './cache-key.js';
import type { NotBuildableCode } from './problems.js';

// The build plan: for every package the targets need, whether its build is cached,
// must run (and why), cannot be known yet, or cannot happen. Pure: digests in, plan out.

/** What the planner needs to know of a build record (a structural subset of the store's). */
export interface RecordView {
  cacheKey: string;
  package: string;
  version: string;
  arch: string;
  envImage: string;
  sourceTree: string;
  recipe: { name: string; digest: string };
  dependencies: Record<string, string[]>;
  outputs: Array<{ name: string; digest: string; size: number }>;
  timings: { finishedAt: string };
  repair?: { policy: string; program: string };
}

/**
 * Point look-ups of build records, a batch at a time (the store answers from its index;
 * a walk never reads every record). Missing, broken and undecodable records are undefined.
 */
export interface RecordsLookup<R extends RecordView = RecordView> {
  /** the record of each cache key */
  byKeys(keys: readonly Digest[]): Promise<Array<R | undefined>>;
  /** the most recently finished build of each package */
  newest(pkgs: readonly string[]): Promise<Array<R | undefined>>;
}

export type PlanEntry<R extends RecordView = RecordView> =
  | { state: 'cached'; key: Digest; inputs: KeyInputs; record: R }
  /** `existing`: the record --check rebuilds and compares against */
  | { state: 'build'; key: Digest; inputs: KeyInputs; changed: string[]; existing?: R }
  /** a dependency must build first; the key needs its output digests */
  | { state: 'pending'; waitingOn: string[] }
  /** no cache key can be made: not mirrored, a stale lock, a recipe or env image missing */
  | { state: 'unmirrored'; reason: string; code: NotBuildableCode }
  /** a dependency cannot build (unmirrored or blocked itself) */
  | { state: 'blocked'; by: string[] };

export interface PlanContext {
  metadata: Pick<Metadata, 'packages' | 'graph' | 'lock'>;
  /** the arch the runner builds for */
  arch: string;
  /** env name → image digest (the local runner gives every env the host's digest) */
  envImages: Map<string, Digest>;
  /** recipe name → digest of the script and the lib files it sources */
  recipeDigests: Map<string, Digest>;
  /** distro commit → its committer time (seconds) */
  sourceDateEpochs: Map<string, number>;
  /** digest of the wheel repair program (recipes/lib/repair-step.sh and the Python it runs); undefined when recipes/ lacks it */
  repairProgram: Digest | undefined;
  /** [distro] repair: the policy of wheels whose [build] names none */
  repairDefault?: string;
  /** `weld build --repair-policy`: every wheel's policy, for this run */
  repairOverride?: string;
  /** packages whose lock was written from other inputs (version, upstream, patches): their locked tree is not what the metadata says */
  staleLocks?: Set<string>;
}

/** Why a package has no key: a sentence for the user and its code. */
export interface Missing {
  missing: string;
  code: NotBuildableCode;
}

/** The key inputs of one package, given its dependencies' output digests. */
export function keyInputsFor(opts: { ctx: PlanContext; pkg: Package; deps: Record<string, Digest[]> }): KeyInputs | Missing {
  const { ctx, pkg } = opts;
  const lock = ctx.metadata.lock[pkg.name];
  if (!lock) return { missing: notLockedReason(pkg.name), code: 'E_NOT_MIRRORED' };
  if (ctx.staleLocks?.has(pkg.name)) return { missing: staleReason(pkg.name), code: 'E_LOCK_STALE' };
  const envImage = ctx.envImages.get(pkg.env);
  if (!envImage) return { missing: `no image for env "${pkg.env}"`, code: 'E_NO_ENV_IMAGE' };
  const recipe = ctx.recipeDigests.get(pkg.recipe);
  if (!recipe) return { missing: `recipe "${pkg.recipe}" was not found in recipes/`, code: 'E_NO_RECIPE' };
  const epoch = ctx.sourceDateEpochs.get(lock.distro);
  if (epoch === undefined) return { missing: `the mirror has no distro commit ${lock.distro.slice(0, 12)}; run \`weld mirror ${pkg.name}\``, code: 'E_NO_DISTRO_COMMIT' };
  if (pkg.kind === 'wheel' && !ctx.repairProgram) return { missing: 'the wheel repair program (recipes/lib/repair-step.sh, repair_wheel.py, manylinux.py) was not found in recipes/lib/', code: 'E_NO_REPAIR_PROGRAM' };
  return {
    package: pkg.name,
    version: pkg.version,
    kind: pkg.kind,
    sourceTree: lock.tree,
    recipe: { name: pkg.recipe, digest: recipe },
    envImage,
    arch: ctx.arch,
    vars: pkg.vars,
    deps: opts.deps,
    sourceDateEpoch: epoch,
    ...(pkg.kind === 'wheel' ? { repair: { policy: repairPolicyOf(ctx, pkg), program: ctx.repairProgram! } } : {}),
  };
}

/** The run's --repair-policy, else the package's, else the distro's, else manylinux. */
export function repairPolicyOf(ctx: Pick<PlanContext, 'repairDefault' | 'repairOverride'>, pkg: Package): string {
  return ctx.repairOverride ?? pkg.repair ?? ctx.repairDefault ?? REPAIR_DEFAULT;
}

/** Which recorded inputs differ from the last build of the package (or why there is none). */
export function changedInputs(inputs: KeyInputs, last: RecordView | undefined): string[] {
  if (!last) return ['never built'];
  const changed: string[] = [];
  if (last.sourceTree !== inputs.sourceTree) changed.push(`source tree ${last.sourceTree.slice(0, 12)} → ${inputs.sourceTree.slice(0, 12)}`);
  if (last.version !== inputs.version) changed.push(`version ${last.version} → ${inputs.version}`);
  if (last.recipe.name !== inputs.recipe.name || last.recipe.digest !== inputs.recipe.digest) changed.push(`recipe ${inputs.recipe.name}`);
  if (last.envImage !== inputs.envImage) changed.push('env image');
  if (last.arch !== inputs.arch) changed.push(`arch ${last.arch} → ${inputs.arch}`);
  if (inputs.repair && last.repair?.policy !== inputs.repair.policy) changed.push(`repair policy ${last.repair?.policy ?? '(none recorded)'} → ${inputs.repair.policy}`);
  else if (inputs.repair && last.repair?.program !== inputs.repair.program) changed.push('wheel repair program');
  const names = new Set([...Object.keys(last.dependencies), ...Object.keys(inputs.deps)]);
  for (const d of [...names].sort()) {
    const a = [...(last.dependencies[d] ?? [])].sort().join();
    const b = [...(inputs.deps[d] ?? [])].sort().join();
    if (a !== b) changed.push(`outputs of dependency ${d}`);
  }
  // Build vars and the source date are in the key but not in the record.
  if (changed.length === 0) changed.push('build vars or source date');
  return changed;
}

/** Cached or build, given the record with the key (if any) and the package's newest build. */
export function decide<R extends RecordView>(opts: { inputs: KeyInputs; key: Digest; record: R | undefined; newest: R | undefined; force?: boolean }): PlanEntry<R> {
  const { key, record, inputs } = opts;
  if (record && !opts.force) return { state: 'cached', key, inputs, record };
  if (record) return { state: 'build', key, inputs, changed: ['--check: rebuilding a cached build'], existing: record };
  return { state: 'build', key, inputs, changed: changedInputs(inputs, opts.newest) };
}

/** One package whose dependencies' outputs are known: its key can be computed. */
export interface Ready {
  pkg: Package;
  deps: Record<string, Digest[]>;
  force?: boolean;
}

/**
 * Decides packages whose dependencies' outputs are known: one batch of key look-ups, and
 * one of "newest build" look-ups for the misses only. The plan below calls it a build step
 * at a time; the executor calls it for a package once its dependencies have built.
 */
export async function decideReady<R extends RecordView>(opts: { ctx: PlanContext; ready: Ready[]; records: RecordsLookup<R> }): Promise<PlanEntry<R>[]> {
  type Keyed = { r: Ready; missing: Missing } | { r: Ready; inputs: KeyInputs; key: Digest };
  const keyed = opts.ready.map((r): Keyed => {
    const inputs = keyInputsFor({ ctx: opts.ctx, pkg: r.pkg, deps: r.deps });
    return 'missing' in inputs ? { r, missing: inputs } : { r, inputs, key: cacheKey(inputs) };
  });
  const withKey = keyed.filter((k): k is { r: Ready; inputs: KeyInputs; key: Digest } => 'key' in k);
  const found = withKey.length ? await opts.records.byKeys(withKey.map((k) => k.key)) : [];
  const records = new Map(withKey.map((k, i) => [k.key, found[i]]));
  const misses = withKey.filter((k) => !records.get(k.key)).map((k) => k.r.pkg.name);
  const newest = misses.length ? await opts.records.newest(misses) : [];
  const newestOf = new Map(misses.map((n, i) => [n, newest[i]]));
  return keyed.map((k): PlanEntry<R> => {
    if ('missing' in k) return { state: 'unmirrored', reason: k.missing.missing, code: k.missing.code };
    return decide({ inputs: k.inputs, key: k.key, record: records.get(k.key), newest: newestOf.get(k.r.pkg.name), force: k.r.force ?? false });
  });
}

/**
 * Plans the targets and everything they need, a build step at a time (one batch of
 * look-ups per step, never a scan of every record). Packages behind a dependency that
 * must build are `pending`: the executor decides them, with decideReady, as it goes.
 */
export async function planBuild<R extends RecordView>(opts: { ctx: PlanContext; targets: string[]; records: RecordsLookup<R>; force?: Set<string> }): Promise<Map<string, PlanEntry<R>>> {
  const { ctx } = opts;
  const plan = new Map<string, PlanEntry<R>>();
  for (const step of ctx.metadata.graph.subgraph(opts.targets).steps()) {
    const ready: Ready[] = [];
    for (const name of step) {
      const pkg = ctx.metadata.packages.get(name);
      if (!pkg) continue;
      const early = undecided({ ctx, plan, name });
      if (early) {
        plan.set(name, early);
        continue;
      }
      const deps = Object.fromEntries(ctx.metadata.graph.requires(name).map((r) => [r, depOutputs(plan.get(r))]));
      ready.push({ pkg, deps, force: opts.force?.has(name) ?? false });
    }
    const decided = await decideReady({ ctx, ready, records: opts.records });
    ready.forEach((r, i) => plan.set(r.pkg.name, decided[i]!));
  }
  return plan;
}

/** Why a package cannot be decided yet (or at all), from its lock and its dependencies' entries. */
function undecided<R extends RecordView>(opts: { ctx: PlanContext; plan: Map<string, PlanEntry<R>>; name: string }): PlanEntry<R> | undefined {
  const { ctx, plan, name } = opts;
  if (!ctx.metadata.lock[name]) return { state: 'unmirrored', reason: notLockedReason(name), code: 'E_NOT_MIRRORED' };
  if (ctx.staleLocks?.has(name)) return { state: 'unmirrored', reason: staleReason(name), code: 'E_LOCK_STALE' };
  const reqs = ctx.metadata.graph.requires(name);
  const blocked = reqs.filter((r) => {
    const state = plan.get(r)?.state;
    return state === undefined || state === 'unmirrored' || state === 'blocked';
  });
  if (blocked.length) return { state: 'blocked', by: blocked };
  const waitingOn = reqs.filter((r) => plan.get(r)?.state !== 'cached');
  if (waitingOn.length) return { state: 'pending', waitingOn };
  return undefined;
}

function notLockedReason(pkg: string): string {
  return `not in metadata/weld.lock; run \`weld mirror ${pkg}\``;
}

// Building the locked tree would build the old source under the new version or patches.
function staleReason(pkg: string): string {
  return `its entry in metadata/weld.lock is stale (version, upstream or patches changed since it was mirrored); run \`weld mirror ${pkg}\``;
}

function depOutputs(e: PlanEntry<RecordView> | undefined): Digest[] {
  return e?.state === 'cached' ? e.record.outputs.map((o) => o.digest as Digest) : [];
}

/** A lookup over records in memory: for tests, and for callers without a store (nothing built). */
export function recordsIn<R extends RecordView>(records: readonly R[]): RecordsLookup<R> {
  const byKey = new Map(records.map((r) => [r.cacheKey, r]));
  const newest = new Map<string, R>();
  for (const r of records) {
    const prev = newest.get(r.package);
    if (!prev || prev.timings.finishedAt <= r.timings.finishedAt) newest.set(r.package, r);
  }
  return { byKeys: async (keys) => keys.map((k) => byKey.get(k)), newest: async (pkgs) => pkgs.map((p) => newest.get(p)) };
}
