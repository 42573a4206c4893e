import { PackageGraph } from './graph.js';
import type { Compose, Distro, Metadata, Package, Target } from './model.js';
import { testEnvIn } from './test-env.js';

// A target is what the distro is built for: arch, builder env, runtime env. Every build,
// test and image is made for one target; the code that builds, tests and composes works
// on a *target view* of the metadata, in which the distro has that one target and every
// package and compose is resolved against it. A single-target distro's view is the
// metadata itself, so nothing that was single-arch before changes.

interface EnvLike {
  name: string;
  kind?: string;
  arch?: string;
  suite?: string;
}

/** A package's builder and test env in a target: what it wrote, else the target's. */
export function packageEnvsIn(o: { target: Target; envs: readonly EnvLike[]; given: Package['given'] }): { env: string; testEnv: string | undefined } {
  const env = o.given.env ?? o.target.env;
  return { env, testEnv: o.given.testEnv ?? testEnvIn({ target: o.target, envs: o.envs, builder: env }) };
}

/** The runtime env an image compose starts from in a target. */
export function composeEnvIn(c: Pick<Compose, 'givenEnv'>, target: Target): string | undefined {
  return c.givenEnv ?? target.runtimeEnv;
}

const views = new WeakMap<Metadata, Map<string, Metadata>>();

/**
 * The metadata as one target sees it: the distro's arch, default and runtime env are the
 * target's; only the packages and composes made for it, resolved against it.
 */
export function targetView(md: Metadata, name: string): Metadata {
  if (md.distro.targets.length === 1 && md.distro.targets[0]!.name === name) return md;
  let byName = views.get(md);
  if (!byName) views.set(md, (byName = new Map()));
  const hit = byName.get(name);
  if (hit) return hit;
  const target = md.distro.targets.find((t) => t.name === name);
  if (!target) throw new Error(`bug: targetView of unknown target ${name}`);
  const envs = [...md.envs.values()];
  const packages = new Map<string, Package>();
  for (const p of md.packages.values()) {
    if (!p.targets.includes(name)) continue;
    const { env, testEnv } = packageEnvsIn({ target, envs, given: p.given });
    packages.set(p.name, { ...p, env, test: { ...p.test, env: testEnv ?? '' } });
  }
  const composes = new Map<string, Compose>();
  for (const c of md.composes.values()) {
    if (!c.targets.includes(name)) continue;
    const env = c.kind === 'image' ? composeEnvIn(c, target) : undefined;
    composes.set(c.name, { ...c, ...(env ? { env } : {}), packages: c.packages.filter((p) => packages.has(p)) });
  }
  const distro: Distro = { ...md.distro, arch: target.arch, defaultEnv: target.env, targets: [target], viewOf: name, ...(target.runtimeEnv ? { runtimeEnv: target.runtimeEnv } : {}) };
  if (!target.runtimeEnv) delete distro.runtimeEnv;
  const view: Metadata = {
    ...md,
    distro,
    packages,
    composes,
    graph: new PackageGraph(new Map([...packages.values()].map((p) => [p.name, p.requires]))),
  };
  byName.set(name, view);
  return view;
}

/** The targets `--target` names (all of them when none), or the names that are not targets. */
export function pickTargets(md: Metadata, names: readonly string[]): { ok: true; targets: Target[] } | { ok: false; unknown: string[] } {
  const all = md.distro.targets;
  if (names.length === 0) return { ok: true, targets: all };
  const unknown = names.filter((n) => !all.some((t) => t.name === n));
  if (unknown.length) return { ok: false, unknown };
  return { ok: true, targets: all.filter((t) => names.includes(t.name)) };
}

/** Whether the distro has more than one target: then output names the target of each line. */
export function isMatrix(md: Pick<Metadata, 'distro'>): boolean {
  return md.distro.targets.length > 1;
}

