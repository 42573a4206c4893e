import os from 'node:os';
import pLimit from 'p-limit';
import type { Metadata, Package } from '../metadata/model.js';
import type { Sha256 } from '../plan/cache-key.js';
import { decide, keyInputsFor, type PlanContext } from '../plan/plan.js';
import type { Runner } from '../runner/runner.js';
import type { BuildOutput, BuildRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { buildOne } from './build-one.js';
import type { BuildListener, CheckResult } from './events.js';
import type { RecipeBundle } from './recipes.js';

export interface ExecuteOptions {
  metadata: Metadata;
  ctx: PlanContext;
  recipes: Map<string, RecipeBundle>;
  /** the wheel repair step (recipes/lib/repair-step.sh and its Python) */
  repairStep?: RecipeBundle;
  /** full records by cache key (what --check compares against) */
  recordOf: (key: string) => BuildRecord | undefined;
  store: Store;
  runner: Runner;
  mirrorsDir: string;
  targets: string[];
  /** builds at once (default: the number of cores) */
  jobs?: number;
  /** rebuild the targets ignoring the cache and compare with their records */
  check?: boolean;
  keepFailed?: boolean;
  logsDir: string;
  workRoot?: string;
  weldVersion: string;
  signal?: AbortSignal;
  onEvent?: BuildListener;
}

export interface BuildSummary {
  built: string[];
  cached: string[];
  failed: Array<{ pkg: string; reason: string }>;
  skipped: Array<{ pkg: string; reason: string }>;
  checks: Record<string, CheckResult>;
}

type Outcome = { ok: true; outputs: BuildOutput[] } | { ok: false };

/**
 * Walks the DAG: each package waits for its requirements, then is decided (its key needs
 * their output digests) and, on a miss, built when a job slot is free. A failure stops
 * its dependents only.
 */
export async function executeBuild(o: ExecuteOptions): Promise<BuildSummary> {
  const jobs = o.jobs ?? os.availableParallelism();
  const limit = pLimit(jobs);
  // Builds share the cores: each recipe is told its part of them.
  const perBuild = Math.max(1, Math.floor(os.availableParallelism() / jobs));
  const emit: BuildListener = o.onEvent ?? (() => {});
  const summary: BuildSummary = { built: [], cached: [], failed: [], skipped: [], checks: {} };
  const targets = new Set(o.targets);
  const memo = new Map<string, Promise<Outcome>>();
  const fail = (pkg: string, reason: string): Outcome => {
    summary.failed.push({ pkg, reason });
    return { ok: false };
  };
  const skip = (pkg: string, reason: string): Outcome => {
    summary.skipped.push({ pkg, reason });
    emit({ type: 'skipped', pkg, reason });
    return { ok: false };
  };

  const visit = (name: string): Promise<Outcome> => {
    let p = memo.get(name);
    if (!p) memo.set(name, (p = decideAndRun(name)));
    return p;
  };

  const decideAndRun = async (name: string): Promise<Outcome> => {
    const pkg = o.metadata.packages.get(name)!;
    const reqs = o.metadata.graph.requires(name);
    const results = await Promise.all(reqs.map(visit));
    const broken = reqs.filter((_, i) => !results[i]!.ok);
    if (broken.length) return skip(name, `dependency ${broken.join(', ')} did not build`);
    if (o.signal?.aborted) return skip(name, 'cancelled');
    const deps = Object.fromEntries(reqs.map((r, i) => [r, (results[i] as { outputs: BuildOutput[] }).outputs.map((x) => x.digest as Sha256)]));
    const inputs = keyInputsFor({ ctx: o.ctx, pkg, deps });
    if ('missing' in inputs) {
      emit({ type: 'failed', pkg: name, reason: inputs.missing, logTail: [] });
      return fail(name, inputs.missing);
    }
    const check = o.check === true && targets.has(name);
    const entry = decide({ ctx: o.ctx, inputs, force: check });
    if (entry.state === 'cached') {
      const outputs = entry.record.outputs as BuildOutput[];
      summary.cached.push(name);
      emit({ type: 'cached', pkg: name, key: entry.key, outputs });
      return { ok: true, outputs };
    }
    if (entry.state !== 'build') throw new Error(`bug: decide gave ${entry.state}`);
    return limit(() => runOne({ pkg, key: entry.key, inputs: entry.inputs, changed: entry.changed, reqs, results }));
  };

  const runOne = async (b: { pkg: Package; key: Sha256; inputs: ReturnType<typeof keyInputsFor>; changed: string[]; reqs: readonly string[]; results: Outcome[] }): Promise<Outcome> => {
    const name = b.pkg.name;
    if (o.signal?.aborted) return skip(name, 'cancelled');
    if ('missing' in b.inputs) throw new Error('bug: building without inputs');
    const recipe = o.recipes.get(b.pkg.recipe);
    if (!recipe) {
      const reason = `recipe "${b.pkg.recipe}" was not found in recipes/`;
      emit({ type: 'failed', pkg: name, reason, logTail: [] });
      return fail(name, reason);
    }
    const existing = o.check ? o.recordOf(b.key) : undefined;
    const r = await buildOne({
      pkg: b.pkg,
      key: b.key,
      inputs: b.inputs,
      changed: b.changed,
      distroCommit: o.metadata.lock[name]!.distro,
      recipe,
      ...(o.repairStep ? { repairStep: o.repairStep } : {}),
      deps: b.reqs.map((d, i) => ({ name: d, kind: o.metadata.packages.get(d)!.kind, outputs: (b.results[i] as { outputs: BuildOutput[] }).outputs })),
      store: o.store,
      runner: o.runner,
      mirrorsDir: o.mirrorsDir,
      logsDir: o.logsDir,
      workRoot: o.workRoot ?? os.tmpdir(),
      jobs: perBuild,
      weldVersion: o.weldVersion,
      ...(existing ? { existing } : {}),
      ...(o.keepFailed ? { keepFailed: true } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      onEvent: emit,
    });
    if (!r.ok) return fail(name, r.reason);
    summary.built.push(name);
    if (o.check) summary.checks[name] = r.check ?? { compared: false, match: true, differences: [] };
    return { ok: true, outputs: r.outputs };
  };

  const all = o.metadata.graph.subgraph(o.targets).order();
  await Promise.all(all.map(visit));
  for (const list of [summary.built, summary.cached]) list.sort();
  summary.failed.sort((a, b) => (a.pkg < b.pkg ? -1 : 1));
  summary.skipped.sort((a, b) => (a.pkg < b.pkg ? -1 : 1));
  return summary;
}
