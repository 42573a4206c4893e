import { clip, quote } from '../core/diagnostics.js';
import { PackageGraph } from './graph.js';
import { checkEnvRef, didYouMean, type Ctx, type EnvCtx } from './env-ref.js';
import { isValidProjectName, normalizeName } from './names.js';
import type { PackageDraft } from './package-file.js';
import { checkTargets, type TargetsCheck } from './target-check.js';
import { hasTest, testEnvIn } from './test-env.js';

// Checks that span files: references between packages, envs, recipes, composes and
// patches, duplicate names and dependency cycles.

/** Runs every cross-file check; returns the targets each package and compose is made for. */
export async function crossCheck(checking: Ctx): Promise<TargetsCheck> {
  const ctx: EnvCtx = { ...checking, envs: new Map(checking.drafts.envs.map((e) => [e.name, e])) };
  const { drafts, state, source } = ctx;
  const { packages, distro, metaDir } = drafts;
  // Unparsable files still count as packages, so they do not cause "unknown package" noise.
  const names = drafts.packageStems;
  const known = new Set(names);
  const byName = new Map(packages.map((p) => [p.name, p]));

  if (distro.defaultEnv) checkEnvRef(ctx, { file: distro.file, path: ['distro', 'env'], env: distro.defaultEnv, want: 'builder', what: 'default env' });
  if (distro.runtimeEnv) checkEnvRef(ctx, { file: distro.file, path: ['distro', 'runtime_env'], env: distro.runtimeEnv, want: 'runtime', what: 'runtime env' });

  checkDuplicates(ctx);
  const targets = checkTargets(ctx);
  for (const p of packages) {
    const problems = state(p.file).problems;
    if (p.recipe !== undefined && !drafts.recipes.includes(p.recipe)) {
      problems.push({
        path: ['build', 'recipe'],
        anchor: 'value',
        message: `recipe ${quote(p.recipe)} not found: no recipes/${clip(p.recipe)}.sh; ${didYouMean(p.recipe, drafts.recipes)}available: ${drafts.recipes.join(', ') || 'none'}`,
      });
    }
    if (p.env !== undefined) checkEnvRef(ctx, { file: p.file, path: ['build', 'env'], env: p.env, want: 'builder', what: 'env' });
    p.requires.forEach((r, i) => {
      if (!known.has(r)) {
        problems.push({ path: ['build', 'requires', i], anchor: 'value', message: `requires unknown package ${quote(r)}; ${didYouMean(r, names)}every package needs a file ${metaDir}/packages/<name>.toml` });
      }
    });
    p.runtimeRequires.forEach((r, i) => {
      const dep = byName.get(r);
      if (!known.has(r)) {
        problems.push({ path: ['runtime', 'requires', i], anchor: 'value', message: `requires unknown package ${quote(r)}; ${didYouMean(r, names)}every package needs a file ${metaDir}/packages/<name>.toml` });
      } else if (dep?.kind === 'pack') {
        problems.push({ path: ['runtime', 'requires', i], anchor: 'value', message: `${quote(r)} is a pack; packs are build-time only (wheel repair copies the libraries a wheel needs into it): move it to [build] requires` });
      }
    });
  }

  for (const p of packages) if (p.kind !== 'pack') checkTest(ctx, { p, known, byName, targets });

  const arches = new Set(targets.targets.map((t) => t.arch));
  for (const e of drafts.envs) {
    if (!e.arch || arches.size === 0 || arches.has(e.arch)) continue;
    const message = distro.arch && distro.targetDrafts.length === 0
      ? `env arch ${quote(e.arch)} differs from the distro's arch ${quote(distro.arch)} (${metaDir}/weld.toml)`
      : `env arch ${quote(e.arch)} is built by no target (targets build ${[...arches].join(', ')}); add a [[target]] for ${e.arch} in ${metaDir}/weld.toml, or fix the arch`;
    state(e.file).problems.push({ path: ['env', 'arch'], anchor: 'value', message });
  }
  for (const name of drafts.locks.keys()) {
    if (!drafts.envs.some((e) => e.name === name)) {
      state(`${metaDir}/envs/${name}.lock.toml`).problems.push({ path: [], anchor: 'table', message: `lock for an env that does not exist: no ${metaDir}/envs/${name}.toml; delete the lock or restore the env` });
    }
  }

  for (const c of drafts.composes) {
    const problems = state(c.file).problems;
    c.packages.forEach((n, i) => {
      const p = byName.get(n);
      if (!known.has(n)) problems.push({ path: ['compose', 'packages', i], anchor: 'value', message: `unknown package ${quote(n)}; ${didYouMean(n, names)}see \`weld list\`` });
      else if (p?.kind === 'pack') problems.push({ path: ['compose', 'packages', i], anchor: 'value', message: `${quote(n)} is a pack, and composes hold wheels; list the wheels that need it instead` });
    });
    if (c.env !== undefined && c.kind === 'image') checkEnvRef(ctx, { file: c.file, path: ['compose', 'env'], env: c.env, want: 'runtime', what: 'env' });
  }

  for (const [dir, patchFiles] of drafts.patchDirs) {
    const dirPath = `${metaDir}/patches/${dir}`;
    if (!known.has(dir)) {
      state(dirPath).problems.push({ path: [], anchor: 'table', message: `patches for unknown package ${quote(dir)}; ${didYouMean(dir, names)}the directory must be named after a package` });
    }
    for (const f of patchFiles) {
      if (!f.endsWith('.patch')) {
        state(f).problems.push({ path: [], anchor: 'table', message: `not applied: only *.patch files are applied, in name order; rename it or move it out of ${dirPath}/` });
        continue;
      }
      const text = await source.read(f);
      if (text === undefined) {
        state(f).problems.push({ path: [], anchor: 'table', message: `not a regular file; a patch must be a file made by git format-patch or diff -u` });
      } else if (!/^diff --git |^--- \S/m.test(text) || !/^\+\+\+ \S/m.test(text)) {
        state(f).problems.push({ path: [], anchor: 'table', message: `no unified diff in this patch; make it with git format-patch (or diff -u)` });
      }
    }
  }

  const edges = new Map<string, string[]>(packages.map((p) => [p.name, p.requires.filter((r) => byName.has(r))]));
  const graph = new PackageGraph(edges);
  for (const cycle of graph.cycles()) {
    const hops = cycle.map((from, i) => ({ from, to: cycle[(i + 1) % cycle.length]! }));
    const related = hops.map(({ from, to }) => ({
      file: byName.get(from)!.file,
      path: ['build', 'requires', byName.get(from)!.requires.indexOf(to)],
      anchor: 'value' as const,
      message: `${from} requires ${to}`,
    }));
    state(byName.get(cycle[0]!)!.file).problems.push({
      ...related[0]!,
      message: `dependency cycle: ${[...cycle, cycle[0]].join(' -> ')}; remove one of these requirements`,
      related,
    });
  }
  return targets;
}

/** A wheel's [test]: its env exists and is a runtime env, and what it requires are wheels. */
// The look-ups come made: one map per package would make a 1,000-package check quadratic.
function checkTest(ctx: EnvCtx, o: { p: PackageDraft; known: Set<string>; byName: Map<string, PackageDraft>; targets: TargetsCheck }): void {
  const { drafts, state } = ctx;
  const { p, known, byName } = o;
  const problems = state(p.file).problems;
  const names = drafts.packageStems;
  p.test.requires.forEach((r, i) => {
    const dep = byName.get(r);
    if (!known.has(r)) problems.push({ path: ['test', 'requires', i], anchor: 'value', message: `requires unknown package ${quote(r)}; ${didYouMean(r, names)}every package needs a file ${drafts.metaDir}/packages/<name>.toml` });
    else if (r === p.name) problems.push({ path: ['test', 'requires', i], anchor: 'value', message: `a package's test always has the package itself installed; remove ${quote(r)} from [test] requires` });
    else if (dep?.kind === 'pack') problems.push({ path: ['test', 'requires', i], anchor: 'value', message: `${quote(r)} is a pack, and tests install wheels; the wheel carries the libraries it needs (wheel repair)` });
  });
  if (p.test.env !== undefined) {
    checkEnvRef(ctx, { file: p.file, path: ['test', 'env'], env: p.test.env, want: 'runtime', what: 'test env' });
    return;
  }
  // An env whose kind is itself in error is reported there; guessing around it would add noise.
  if (!hasTest(p.test) || drafts.envs.some((e) => e.kind === undefined)) return;
  const mine = o.targets.packageTargets.get(p.name) ?? [];
  const undecided = o.targets.targets.filter((t) => mine.includes(t.name) && !testEnvIn({ target: t, envs: drafts.envs, builder: p.env ?? t.env }));
  if (undecided.length === 0) return;
  const matrix = drafts.distro.targetDrafts.length > 0;
  const where = matrix ? `runtime_env in the [[target]] of ${undecided.map((t) => t.name).join(', ')}` : '[distro] runtime_env';
  const runtimes = drafts.envs.filter((e) => e.kind === 'runtime').map((e) => e.name);
  problems.push({
    path: ['test'],
    anchor: 'table',
    message:
      runtimes.length === 0
        ? `no runtime env to test this wheel in: add one (${drafts.metaDir}/envs/<name>.toml with kind = "runtime") and name it in ${where}`
        : `cannot tell which runtime env to test this wheel in${matrix ? ` for ${undecided.map((t) => t.name).join(', ')}` : ''} (${runtimes.join(', ')}): set ${where} in ${drafts.metaDir}/weld.toml, or env = "…" in [test]`,
  });
}

/**
 * Two files declaring one (normalised) name: the file named after it owns the name,
 * the other is reported, pointing at the owner.
 */
function checkDuplicates(ctx: Ctx): void {
  const groups = new Map<string, PackageDraft[]>();
  for (const p of ctx.drafts.packages) {
    if (!p.displayName || !isValidProjectName(p.displayName)) continue;
    const norm = normalizeName(p.displayName);
    groups.set(norm, [...(groups.get(norm) ?? []), p]);
  }
  for (const [norm, group] of groups) {
    if (group.length < 2) continue;
    const owner = group.find((p) => p.name === norm) ?? group[0]!;
    for (const p of group) {
      if (p === owner) continue;
      ctx.state(p.file).problems.push({
        path: ['package', 'name'],
        anchor: 'value',
        message: `duplicate package ${quote(norm)}: also defined in ${ctx.source.display(owner.file)}; one file per package`,
        related: [{ file: owner.file, path: ['package', 'name'], anchor: 'value', message: `${quote(norm)} is defined here` }],
      });
    }
  }
}
