import type { Metadata, Package } from '../metadata/model.js';
import { REPAIR_DEFAULT } from '../metadata/repair-policy.js';
import { cacheKey, type KeyInputs, type Sha256 } from './cache-key.js';

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

export interface RecordsLookup {
  /** the record with this cache key, unless missing or marked broken */
  byKey(key: string): RecordView | undefined;
  /** the most recently finished build of a package, if any */
  newest(pkg: string): RecordView | undefined;
}

export type PlanEntry =
  | { state: 'cached'; key: Sha256; inputs: KeyInputs; record: RecordView }
  | { state: 'build'; key: Sha256; inputs: KeyInputs; changed: string[] }
  /** a dependency must build first; the key needs its output digests */
  | { state: 'pending'; waitingOn: string[] }
  | { state: 'unmirrored'; reason: string }
  /** a dependency cannot build (unmirrored or blocked itself) */
  | { state: 'blocked'; by: string[] };

export interface PlanContext {
  metadata: Pick<Metadata, 'packages' | 'graph' | 'lock'>;
  /** the arch the runner builds for */
  arch: string;
  /** env name → image digest (the local runner gives every env the host's digest) */
  envImages: Map<string, Sha256>;
  /** recipe name → digest of the script and the lib files it sources */
  recipeDigests: Map<string, Sha256>;
  /** distro commit → its committer time (seconds) */
  sourceDateEpochs: Map<string, number>;
  records: RecordsLookup;
  /** digest of the wheel repair program (recipes/lib/repair-step.sh and the Python it runs); undefined when recipes/ lacks it */
  repairProgram: Sha256 | undefined;
  /** [distro] repair: the policy of wheels whose [build] names none */
  repairDefault?: string;
  /** `weld build --repair-policy`: every wheel's policy, for this run */
  repairOverride?: string;
  /** packages whose lock was written from other inputs (version, upstream, patches): their locked tree is not what the metadata says */
  staleLocks?: Set<string>;
}

/** The key inputs of one package, given its dependencies' output digests. */
export function keyInputsFor(opts: { ctx: PlanContext; pkg: Package; deps: Record<string, Sha256[]> }): KeyInputs | { missing: string } {
  const { ctx, pkg } = opts;
  const lock = ctx.metadata.lock[pkg.name];
  if (!lock) return { missing: `not in metadata/weld.lock; run \`weld mirror ${pkg.name}\`` };
  if (ctx.staleLocks?.has(pkg.name)) return { missing: staleReason(pkg.name) };
  const envImage = ctx.envImages.get(pkg.env);
  if (!envImage) return { missing: `no image for env "${pkg.env}"` };
  const recipe = ctx.recipeDigests.get(pkg.recipe);
  if (!recipe) return { missing: `recipe "${pkg.recipe}" was not found in recipes/` };
  const epoch = ctx.sourceDateEpochs.get(lock.distro);
  if (epoch === undefined) return { missing: `the mirror has no distro commit ${lock.distro.slice(0, 12)}; run \`weld mirror ${pkg.name}\`` };
  if (pkg.kind === 'wheel' && !ctx.repairProgram) return { missing: 'the wheel repair program (recipes/lib/repair-step.sh, repair_wheel.py, manylinux.py) was not found in recipes/lib/' };
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

/** Cached or build, once every dependency's outputs are known. */
export function decide(opts: { ctx: PlanContext; inputs: KeyInputs; force?: boolean }): PlanEntry {
  const key = cacheKey(opts.inputs);
  const record = opts.ctx.records.byKey(key);
  if (record && !opts.force) return { state: 'cached', key, inputs: opts.inputs, record };
  const changed = record ? ['--check: rebuilding a cached build'] : changedInputs(opts.inputs, opts.ctx.records.newest(opts.inputs.package));
  return { state: 'build', key, inputs: opts.inputs, changed };
}

/**
 * Plans the targets and everything they need, in build order. Packages behind a
 * dependency that must build are `pending`: the executor decides them as it goes.
 */
export function planBuild(opts: { ctx: PlanContext; targets: string[]; force?: Set<string> }): Map<string, PlanEntry> {
  const { ctx } = opts;
  const plan = new Map<string, PlanEntry>();
  for (const name of ctx.metadata.graph.subgraph(opts.targets).order()) {
    const pkg = ctx.metadata.packages.get(name);
    if (!pkg) continue;
    const reqs = ctx.metadata.graph.requires(name);
    const blocked = reqs.filter((r) => ['unmirrored', 'blocked'].includes(plan.get(r)?.state ?? 'unmirrored'));
    if (!ctx.metadata.lock[name] || ctx.staleLocks?.has(name)) {
      plan.set(name, { state: 'unmirrored', reason: ctx.metadata.lock[name] ? staleReason(name) : `not in metadata/weld.lock; run \`weld mirror ${name}\`` });
      continue;
    }
    if (blocked.length) {
      plan.set(name, { state: 'blocked', by: blocked });
      continue;
    }
    const waitingOn = reqs.filter((r) => plan.get(r)?.state !== 'cached');
    if (waitingOn.length) {
      plan.set(name, { state: 'pending', waitingOn });
      continue;
    }
    const deps = Object.fromEntries(reqs.map((r) => [r, depOutputs(plan.get(r))]));
    const inputs = keyInputsFor({ ctx, pkg, deps });
    if ('missing' in inputs) {
      plan.set(name, { state: 'unmirrored', reason: inputs.missing });
      continue;
    }
    plan.set(name, decide({ ctx, inputs, force: opts.force?.has(name) ?? false }));
  }
  return plan;
}

// Building the locked tree would build the old source under the new version or patches.
function staleReason(pkg: string): string {
  return `its entry in metadata/weld.lock is stale (version, upstream or patches changed since it was mirrored); run \`weld mirror ${pkg}\``;
}

function depOutputs(e: PlanEntry | undefined): Sha256[] {
  return e?.state === 'cached' ? e.record.outputs.map((o) => o.digest as Sha256) : [];
}
