import { WeldError } from '../core/errors.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import type { Metadata } from '../metadata/model.js';
import { inputsDigest } from '../mirror/inputs.js';
import { mirrorPath } from '../mirror/mirror.js';
import { sha256Of, type Sha256 } from '../plan/cache-key.js';
import type { PlanContext, RecordsLookup } from '../plan/plan.js';
import type { Runner } from '../runner/runner.js';
import type { Store } from '../store/store.js';
import { writeFileAtomic } from '../util/fs.js';
import { loadRecipe, loadRepairStep, type RecipeBundle } from './recipes.js';
import { committerTime } from './source-tree.js';

export interface Prepared {
  ctx: PlanContext;
  recipes: Map<string, RecipeBundle>;
  /** the wheel repair step, when a wheel is among the packages and recipes/lib/ has it */
  repairStep?: RecipeBundle;
  warnings: string[];
}

/**
 * Gathers the digests the planner needs: env image and recipes (put into the store when
 * `store` is given, since records name them), and each distro commit's time.
 */
export async function preparePlan(opts: { metadata: Metadata; runner: Runner; mirrorsDir: string; packages: string[]; records: RecordsLookup; store?: Store; repairPolicy?: string }): Promise<Prepared> {
  const { metadata } = opts;
  const pkgs = opts.packages.map((n) => metadata.packages.get(n)!).filter(Boolean);
  const warnings: string[] = [];
  let arch = '';
  const envImages = new Map<string, Sha256>();
  for (const env of new Set(pkgs.map((p) => p.env))) {
    const info = await opts.runner.info({ env });
    arch = info.arch;
    warnings.push(...info.warnings.filter((w) => !warnings.includes(w)));
    const json = JSON.stringify(info.envImage);
    if (opts.store) await mustPut(opts.store, json);
    envImages.set(env, sha256Of(json));
  }
  const recipes = new Map<string, RecipeBundle>();
  const recipeDigests = new Map<string, Sha256>();
  for (const name of new Set(pkgs.map((p) => p.recipe))) {
    const bundle = await loadRecipe({ name, read: metadata.read });
    if (!bundle) continue;
    if (opts.store) await mustPut(opts.store, bundle.json);
    recipes.set(name, bundle);
    recipeDigests.set(name, sha256Of(bundle.json));
  }
  const repairStep = pkgs.some((p) => p.kind === 'wheel') ? await loadRepairStep({ read: metadata.read }) : undefined;
  if (repairStep && opts.store) await mustPut(opts.store, repairStep.json);
  const staleLocks = new Set<string>();
  for (const p of pkgs) {
    const locked = metadata.lock[p.name];
    if (locked && locked.inputs !== (await inputsDigest({ metadata, pkg: p }))) staleLocks.add(p.name);
  }
  const sourceDateEpochs = await commitTimes({ metadata, mirrorsDir: opts.mirrorsDir, packages: pkgs.map((p) => p.name) });
  if (!arch) arch = (await opts.runner.info({ env: metadata.distro.defaultEnv })).arch;
  const ctx: PlanContext = {
    metadata,
    arch,
    envImages,
    recipeDigests,
    repairProgram: repairStep ? sha256Of(repairStep.json) : undefined,
    ...(metadata.distro.repairPolicy ? { repairDefault: metadata.distro.repairPolicy } : {}),
    ...(opts.repairPolicy ? { repairOverride: opts.repairPolicy } : {}),
    sourceDateEpochs,
    records: opts.records,
    staleLocks,
  };
  return { ctx, recipes, ...(repairStep ? { repairStep } : {}), warnings };
}

/** The store refused a small blob (full disk, permissions): nothing can be built. */
export class PrepareStoreError extends WeldError {
  readonly code = 'E_BUILD_STORE';
  constructor(cause: string) {
    super(`cannot store the recipes and env descriptions builds need: ${cause}`);
    this.hint = 'check the store\'s disk and permissions (`weld store info`), then build again';
  }
}

async function mustPut(store: Store, text: string): Promise<void> {
  // Usually already there (every build after the first): a look-up, not a write and an fsync.
  if (await store.has(sha256Of(text))) return;
  const r = await store.put([Buffer.from(text)]);
  // Thrown here, where the loops are, and turned back into a value by build().
  if (!r.ok) throw new PrepareStoreError(r.error.message);
}

/**
 * Commit ids name immutable commits, so their times are cached for good in
 * <root>/.weld/cache/commit-times.json: a no-op build of a big distro starts no git.
 */
async function commitTimes(opts: { metadata: Metadata; mirrorsDir: string; packages: string[] }): Promise<Map<string, number>> {
  const file = path.join(opts.metadata.root, '.weld', 'cache', 'commit-times.json');
  let cached: Record<string, number> = {};
  try {
    cached = JSON.parse(await readFile(file, 'utf8')) as Record<string, number>;
  } catch {
    /* first run, or an unreadable cache: rebuilt below */
  }
  const out = new Map<string, number>();
  const limit = pLimit(8);
  let added = false;
  await Promise.all(
    opts.packages.map((pkg) =>
      limit(async () => {
        const commit = opts.metadata.lock[pkg]?.distro;
        if (!commit) return;
        const known = cached[commit];
        if (known !== undefined) return void out.set(commit, known);
        const t = await committerTime({ gitdir: mirrorPath(opts.mirrorsDir, pkg), commit });
        if (!t.ok) return;
        out.set(commit, t.value);
        cached[commit] = t.value;
        added = true;
      }),
    ),
  );
  if (added) writeFileAtomic({ file, data: JSON.stringify(cached) });
  return out;
}
