import type { WeldError } from '../core/errors.js';
import { ok, type Result } from '../core/result.js';
import { upstreamVersion, type SourceEntry } from '../mirror/debian/sources-index.js';
import type { Env, Metadata } from '../metadata/model.js';
import { isNativeVersion, isValidProjectName, normalizeName, versionRefProblem } from '../metadata/names.js';
import { envDebs } from './build-needs.js';
import { origOf, type DebianSource } from './sources/debian.js';
import { readSourceTree } from './source-tree.js';

// Native build dependencies: a wheel's Debian Build-Depends name the C libraries its
// extension compiles against (`libyaml-dev`). Each becomes a weld pack the wheel's
// [build] requires: one the distro has, or a new one from that library's Debian source,
// built by the recipe its tree calls for.

/** Package names of a Build-Depends field: the first of each alternative, without versions, arches or profiles. */
export function buildDependNames(field: string): string[] {
  const out: string[] = [];
  for (const clause of field.split(',')) {
    const first = clause.split('|')[0]!.replace(/\([^)]*\)|\[[^\]]*\]|<[^>]*>/g, '').trim().replace(/:(any|native)$/, '');
    if (first) out.push(first);
  }
  return [...new Set(out)];
}

/** `lib*-dev` packages that are C libraries a build needs, not Python itself or what the env has. */
export function libraryDevs(opts: { buildDepends: string; env: Env }): string[] {
  const have = envDebs(opts.env);
  return buildDependNames(opts.buildDepends).filter((n) => /^lib.+-dev$/.test(n) && !/^libpython/.test(n) && !have.has(n));
}

/** The recipe a native source tree calls for, by the build files at its root. */
export function packRecipe(paths: Set<string>): string | undefined {
  if (paths.has('configure') || paths.has('configure.ac') || paths.has('configure.in')) return 'autotools-pack';
  if (paths.has('CMakeLists.txt')) return 'cmake-pack';
  if (paths.has('meson.build')) return 'meson-pack';
  return undefined;
}

export interface NewPack {
  key: string;
  name: string;
  version: string;
  source: string;
  suite: string;
  otherSuite: boolean;
  debianVersion: string;
  orig: string;
  recipe: string;
  homepage?: string;
  /** packs this pack's own build needs */
  requires: string[];
}

/** Packs planned in one run, by Debian source: a library two wheels need is planned once. */
export type PackMemo = Map<string, Promise<Result<NewPack | { existing: string } | { skip: string }, WeldError>>>;

export interface PackPlan {
  /** the pack names the wheel's [build] requires */
  requires: string[];
  /** packs to write */
  created: NewPack[];
  warnings: string[];
}

/**
 * Plans the packs for a list of `lib*-dev` packages. `made` is shared across the run, so
 * a library two wheels need is one pack; `taken` are names already used by wheels.
 */
export async function planPacks(opts: {
  devs: string[];
  debian: DebianSource;
  metadata: Metadata;
  env: Env;
  made: PackMemo;
  taken: (key: string) => boolean;
  /** the packs being planned above this one: a library that needs itself back is a cycle */
  chain?: string[];
}): Promise<PackPlan> {
  const plan: PackPlan = { requires: [], created: [], warnings: [] };
  for (const dev of opts.devs) {
    const found = await opts.debian.sourceOfBinary(dev);
    if (!found.ok) {
      plan.warnings.push(`${dev}: ${found.error.message}`);
      continue;
    }
    if (!found.value) {
      plan.warnings.push(`Build-Depends ${dev}: no Debian source builds it in the envs' suites; the wheel is written without a pack for it`);
      continue;
    }
    const { entry, suite, base } = found.value;
    if (opts.chain?.includes(entry.package)) {
      plan.warnings.push(`Build-Depends ${dev}: ${[...opts.chain, entry.package].join(' → ')} is a cycle; that edge is left out`);
      continue;
    }
    let making = opts.made.get(entry.package);
    if (!making) opts.made.set(entry.package, (making = makePack({ ...opts, dev, entry, suite, base })));
    const r = await making;
    if (!r.ok) {
      plan.warnings.push(`Build-Depends ${dev}: ${r.error.message}; the wheel is written without a pack for it`);
      continue;
    }
    const v = r.value;
    if ('skip' in v) plan.warnings.push(`Build-Depends ${dev}: ${v.skip}; the wheel is written without a pack for it`);
    else if ('existing' in v) plan.requires.push(v.existing);
    else {
      plan.requires.push(v.key);
      plan.created.push(v);
    }
  }
  plan.requires = [...new Set(plan.requires)].sort();
  return plan;
}

async function makePack(opts: {
  dev: string;
  entry: SourceEntry;
  suite: { suite: string; otherSuite: boolean };
  base: string;
  debian: DebianSource;
  metadata: Metadata;
  env: Env;
  made: PackMemo;
  taken: (key: string) => boolean;
  chain?: string[];
}): Promise<Result<NewPack | { existing: string } | { skip: string }, WeldError>> {
  const { entry } = opts;
  const key = normalizeName(entry.package);
  const libKey = normalizeName(opts.dev.replace(/-dev$/, ''));
  for (const p of opts.metadata.packages.values()) {
    if (p.kind !== 'pack') continue;
    if ((p.upstream.kind === 'debian' && p.upstream.source === entry.package) || p.name === key || p.name === libKey) return ok({ existing: p.name });
  }
  if (!isValidProjectName(entry.package)) return ok({ skip: `its Debian source "${entry.package}" cannot name a weld package` });
  if (opts.metadata.packages.has(key) || opts.taken(key)) return ok({ skip: `its Debian source "${entry.package}" has the name of a wheel of the distro` });
  const up = upstreamVersion(entry.version);
  const version = up.replace(/\+.*$/, '');
  if (!isNativeVersion(version) || versionRefProblem(version)) return ok({ skip: `${entry.package} ${entry.version}: upstream version "${up}" cannot be a weld version` });
  const orig = origOf(entry, up);
  if (!orig) return ok({ skip: `${entry.package} ${entry.version} lists no source tarball` });
  const bytes = await opts.debian.fetchFile({ base: opts.base, entry, name: orig.name });
  if (!bytes.ok) return bytes;
  const tree = await readSourceTree({ bytes: bytes.value, label: orig.name });
  if (!tree.ok) return tree;
  const recipe = packRecipe(tree.value.paths);
  if (!recipe) return ok({ skip: `${orig.name} has no configure, configure.ac, CMakeLists.txt or meson.build at its root, so no pack recipe fits` });
  // the library's own native dependencies, a few levels down (zlib under libpng, say)
  const requires: string[] = [];
  const chain = [...(opts.chain ?? []), entry.package];
  if (chain.length <= 4) {
    const sub = await planPacks({ ...opts, devs: libraryDevs({ buildDepends: entry.buildDepends, env: opts.env }).filter((d) => d !== opts.dev), chain });
    requires.push(...sub.requires.filter((r) => r !== key));
  }
  return ok({
    key,
    name: entry.package,
    version,
    source: entry.package,
    suite: opts.suite.suite,
    otherSuite: opts.suite.otherSuite,
    debianVersion: entry.version,
    orig: orig.name,
    recipe,
    ...(entry.homepage && /^https?:\/\/[^\s"]+$/.test(entry.homepage) ? { homepage: entry.homepage } : {}),
    requires: [...new Set(requires)].sort(),
  });
}
