import { WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import type { Metadata } from '../metadata/model.js';
import { inputsDigest } from '../mirror/inputs.js';
import { mirrorPath } from '../mirror/location.js';
import { canonicalJson, sha256Of, type Digest } from '../core/digest.js';
import type { PlanContext } from '../plan/plan.js';
import type { Runner } from '../runner/runner.js';
import type { Store } from '../store/store.js';
import { writeFileAtomic } from '../util/fs.js';
import { loadRecipe, loadRepairStep, type RecipeBundle } from './recipes.js';
import { committerTime, committerTimeInProcess } from './source-tree.js';

export interface Prepared {
  ctx: PlanContext;
  recipes: Map<string, RecipeBundle>;
  /** the wheel repair step, when a wheel is among the packages and recipes/lib/ has it */
  repairStep?: RecipeBundle;
  warnings: string[];
  /** the env descriptions and recipe bundles records name: put into the store before a build */
  blobs: string[];
}

/**
 * Gathers the digests the planner needs: env images, recipes, each distro commit's time.
 * Writes nothing to the store (storeInputs does, for a build); status and composes plan without writing.
 */
export async function preparePlan(opts: { metadata: Metadata; runner: Runner; mirrorsDir: string; packages: string[]; repairPolicy?: string }): Promise<Prepared> {
  const { metadata } = opts;
  const pkgs = opts.packages.map((n) => metadata.packages.get(n)!).filter(Boolean);
  const warnings: string[] = [];
  const blobs: string[] = [];
  let arch = '';
  const envImages = new Map<string, Digest>();
  for (const env of new Set(pkgs.map((p) => p.env))) {
    const info = await opts.runner.info({ env });
    arch = info.arch;
    warnings.push(...info.warnings.filter((w) => !warnings.includes(w)));
    // Canonical, like every digest of structured input: key order is no part of the toolchain.
    const json = canonicalJson(info.envImage);
    blobs.push(json);
    envImages.set(env, sha256Of(json));
  }
  const recipes = new Map<string, RecipeBundle>();
  const recipeDigests = new Map<string, Digest>();
  for (const name of new Set(pkgs.map((p) => p.recipe))) {
    const bundle = await loadRecipe({ name, read: metadata.read });
    if (!bundle) continue;
    blobs.push(bundle.json);
    recipes.set(name, bundle);
    recipeDigests.set(name, sha256Of(bundle.json));
  }
  const repairStep = pkgs.some((p) => p.kind === 'wheel') ? await loadRepairStep({ read: metadata.read }) : undefined;
  if (repairStep) blobs.push(repairStep.json);
  const staleLocks = new Set<string>();
  for (const p of pkgs) {
    const locked = metadata.lock[p.name];
    if (locked && locked.inputs !== (await inputsDigest({ metadata, pkg: p }))) staleLocks.add(p.name);
  }
  const sourceDateEpochs = await commitTimes({ metadata, mirrorsDir: opts.mirrorsDir, packages: pkgs.map((p) => p.name), warnings });
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
    staleLocks,
  };
  return { ctx, recipes, ...(repairStep ? { repairStep } : {}), warnings, blobs };
}

/** The store refused a small blob (full disk, permissions): nothing can be built. */
export class PrepareStoreError extends WeldError {
  readonly code = 'E_BUILD_STORE';
  constructor(cause: string) {
    super(`cannot store the recipes and env descriptions builds need: ${cause}`);
    this.hint = 'check the store\'s disk and permissions (`weld store info`), then build again';
  }
}

/** Puts what records will name (usually already there: a look-up each, no write and no fsync). */
export async function storeInputs(opts: { store: Store; blobs: string[] }): Promise<Result<void, PrepareStoreError>> {
  for (const text of new Set(opts.blobs)) {
    if (await opts.store.has(sha256Of(text))) continue;
    const r = await opts.store.put([Buffer.from(text)]);
    if (!r.ok) return err(new PrepareStoreError(r.error.message));
  }
  return ok(undefined);
}

/** How many unknown commit times make loading isomorphic-git cheaper than a git process each. */
const IN_PROCESS_FROM = 64;

/**
 * Commit ids name immutable commits, so their times are cached for good in
 * <root>/.weld/cache/commit-times.json: a no-op build of a big distro starts no git.
 */
async function commitTimes(opts: { metadata: Metadata; mirrorsDir: string; packages: string[]; warnings: string[] }): Promise<Map<string, number>> {
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
  // Known commits are answered here; only the others queue for git (a task each costs, at 1,000).
  const unknown: string[] = [];
  for (const pkg of opts.packages) {
    const commit = opts.metadata.lock[pkg]?.distro;
    if (!commit) continue;
    const known = cached[commit];
    if (known !== undefined) out.set(commit, known);
    else unknown.push(pkg);
  }
  // Past a few dozen, reading the commits in this process beats starting a git for each.
  const cache = {};
  const read = unknown.length > IN_PROCESS_FROM ? (o: { gitdir: string; commit: string }) => committerTimeInProcess({ ...o, cache }) : committerTime;
  await Promise.all(
    unknown.map((pkg) =>
      limit(async () => {
        const commit = opts.metadata.lock[pkg]!.distro;
        if (out.has(commit)) return;
        const t = await read({ gitdir: mirrorPath(opts.mirrorsDir, pkg), commit });
        if (!t.ok) return;
        out.set(commit, t.value);
        cached[commit] = t.value;
        added = true;
      }),
    ),
  );
  // The cache only saves git work next time: a project it cannot be written to still builds.
  if (added) {
    try {
      writeFileAtomic({ file, data: JSON.stringify(cached) });
    } catch (e: unknown) {
      opts.warnings.push(`could not write the commit-time cache ${file} (${e instanceof Error ? e.message : String(e)}); builds work, but read the mirrors again next time`);
    }
  }
  return out;
}
