import os from 'node:os';
import type { IndexError } from '../store/store.js';
import pLimit from 'p-limit';
import type { Metadata, Package } from '../metadata/model.js';
import type { Digest } from '../core/digest.js';
import type { KeyInputs } from '../plan/cache-key.js';
import { decideReady, type PlanContext, type PlanEntry, type RecordsLookup } from '../plan/plan.js';
import type { Runner } from '../runner/runner.js';
import type { BuildOutput, BuildRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { packageEvent, type BuildListener, type CheckResult } from './events.js';
import { BuildCancelledError, BuildStepError, DependencyFailedError, TestFailedError, type BuildFailure, type SkipReason } from './failures.js';
import { NotBuildableError } from '../plan/problems.js';
import type { RecipeBundle } from './recipes.js';
import { hasTest } from '../metadata/test-env.js';
import { testClosure } from '../plan/test-key.js';
import { runTestPhase, type TestContext } from './test-phase.js';
import type { BuildLeases } from './leases.js';
import type { Substitution } from './substitute.js';
import { sharedRecord, type PureWheels } from './pure-wheels.js';

export interface ExecuteOptions {
  metadata: Metadata;
  ctx: PlanContext;
  /** the plan of the targets (planBuild): what is cached, what builds, what waits */
  plan: Map<string, PlanEntry<BuildRecord>>;
  /** look-ups for packages the plan left pending, once their dependencies have built */
  records: RecordsLookup<BuildRecord>;
  recipes: Map<string, RecipeBundle>;
  /** the wheel repair step (recipes/lib/repair-step.sh and its Python) */
  repairStep?: RecipeBundle;
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
  /** filled with each package's record once it is cached or built: what a compose after the build uses */
  current?: Map<string, BuildRecord>;
  /** `weld test`: what is not built fails instead of building */
  noBuild?: boolean;
  /** wheels with a [test] are tested after their build; absent (`--no-test`): none is */
  tests?: TestContext;
  /** shared with other sessions (the build service's jobs): one build per cache key at a time */
  leases?: BuildLeases;
  /** cache keys whose records this session pulled from the store remote (filled by the look-ups) */
  substitutions?: ReadonlyMap<string, Substitution>;
  /** a matrix build's pure wheels so far: one made for an earlier target is recorded for this one, not built */
  pure?: PureWheels;
}

export interface BuildSummary {
  built: string[];
  cached: string[];
  /** not in the store but on the store remote: pulled, not built */
  substituted: string[];
  /** pure wheels another target of the matrix built: recorded for this target's key, not built */
  shared: string[];
  failed: Array<{ pkg: string; error: BuildFailure }>;
  skipped: Array<{ pkg: string; error: SkipReason }>;
  checks: Record<string, CheckResult>;
  /** wheels whose test ran and passed */
  tested: string[];
  /** wheels whose passed test was found for its key: nothing ran */
  testsReused: string[];
}

type Outcome = { ok: true; outputs: BuildOutput[]; record: BuildRecord } | { ok: false };
type ToBuild = { pkg: Package; key: Digest; inputs: KeyInputs; changed: string[]; existing?: BuildRecord };

/**
 * Carries out a plan: cached entries are done, builds run when a job slot is free, and a
 * pending package is decided (decideReady, the plan's own rule) once its requirements'
 * outputs are known. A failure stops its dependents only.
 */
export async function executeBuild(o: ExecuteOptions): Promise<BuildSummary> {
  const jobs = o.jobs ?? os.availableParallelism();
  const limit = pLimit(jobs);
  // Builds share the cores: each recipe is told its part of them.
  const perBuild = Math.max(1, Math.floor(os.availableParallelism() / jobs));
  const emit: BuildListener = o.onEvent ?? (() => {});
  const summary: BuildSummary = { built: [], cached: [], substituted: [], shared: [], failed: [], skipped: [], checks: {}, tested: [], testsReused: [] };
  const targets = new Set(o.targets);
  const memo = new Map<string, Promise<Outcome>>();
  // build-one emits its own failures (with the log's tail); these are the executor's.
  const fail = (pkg: string, error: BuildFailure, o2: { emitted?: boolean } = {}): Outcome => {
    summary.failed.push({ pkg, error });
    if (!o2.emitted) emit(packageEvent('failed', pkg, { error, logTail: [] }));
    return { ok: false };
  };
  const skip = (pkg: string, error: SkipReason): Outcome => {
    summary.skipped.push({ pkg, error });
    emit(packageEvent('skipped', pkg, { error }));
    return { ok: false };
  };

  // Two outcomes per package: its build, and its build with its test passed. Dependents
  // wait for the second (a wheel that fails its test stops them); a test waits only for
  // the builds of the wheels it installs, since run-time requirements may form cycles.
  const tested = new Map<string, Promise<Outcome>>();
  const built = (name: string): Promise<Outcome> => {
    let p = memo.get(name);
    if (!p) memo.set(name, (p = carryOut(name)));
    return p;
  };
  const visit = (name: string): Promise<Outcome> => {
    let p = tested.get(name);
    if (!p) {
      const pkg = o.metadata.packages.get(name);
      const needsTest = o.tests !== undefined && pkg?.kind === 'wheel' && hasTest(pkg.test);
      tested.set(name, (p = needsTest ? built(name).then((b) => (b.ok ? testStep(pkg, b) : b)) : built(name)));
    }
    return p;
  };

  const testStep = async (pkg: Package, b: Outcome & { ok: true }): Promise<Outcome> => {
    const name = pkg.name;
    const closure = testClosure(o.metadata, pkg);
    // A requirement built from this very wheel cannot be there before the wheel's test.
    // Asked of each requirement's own build closure (small), not of the wheel's dependents:
    // for a wheel low in a 1,000-package graph those are most of the graph, per wheel.
    const circular = closure.filter((r) => o.metadata.graph.buildsOn(r, name));
    if (circular.length) return fail(name, new TestFailedError(`cannot test: the test installs ${circular.join(', ')}, which build-require${circular.length === 1 ? 's' : ''} ${name} itself; move ${circular.length === 1 ? 'it' : 'them'} to [test] of another package`));
    const unplanned = closure.filter((r) => !o.plan.has(r));
    if (unplanned.length) throw new Error(`bug: ${name}'s test needs ${unplanned.join(', ')}, which the plan lacks`);
    const results = await Promise.all(closure.map(built));
    const broken = closure.filter((_, i) => !results[i]!.ok);
    if (broken.length) return skip(name, new DependencyFailedError(broken));
    if (o.signal?.aborted) return skip(name, new BuildCancelledError());
    const requirements = closure.map((r, i) => ({ name: r, record: (results[i] as { record: BuildRecord }).record }));
    const r = await runTestPhase({
        tests: o.tests!,
        pkg,
        build: b.record,
        requirements,
        sourceDateEpoch: o.ctx.sourceDateEpochs.get(o.metadata.lock[name]?.distro ?? '') ?? 0,
        store: o.store,
        runner: o.runner,
        mirrorsDir: o.mirrorsDir,
        logsDir: o.logsDir,
        workRoot: o.workRoot ?? os.tmpdir(),
        weldVersion: o.weldVersion,
        ...(o.signal ? { signal: o.signal } : {}),
        onEvent: emit,
        slot: limit,
      });
    if (!r.ok) {
      if (r.error instanceof BuildCancelledError) return skip(name, r.error);
      return fail(name, r.error, { emitted: true });
    }
    (r.reused ? summary.testsReused : summary.tested).push(name);
    return b;
  };

  const carryOut = async (name: string): Promise<Outcome> => {
    const planned = o.plan.get(name);
    if (!planned) throw new Error(`bug: ${name} is not in the plan`);
    if (planned.state === 'cached' || planned.state === 'build') return settle(name, planned);
    if (planned.state === 'unmirrored') return fail(name, new NotBuildableError(planned.code, planned.reason));
    const reqs = o.metadata.graph.requires(name);
    const results = await Promise.all(reqs.map(visit));
    const broken = reqs.filter((_, i) => !results[i]!.ok);
    if (broken.length) return skip(name, new DependencyFailedError(broken));
    if (planned.state === 'blocked') throw new Error(`bug: ${name} blocked by packages that built`);
    if (o.signal?.aborted) return skip(name, new BuildCancelledError());
    const deps = Object.fromEntries(reqs.map((r, i) => [r, (results[i] as { outputs: BuildOutput[] }).outputs.map((x) => x.digest as Digest)]));
    const pkg = o.metadata.packages.get(name)!;
    let entry: PlanEntry<BuildRecord>;
    try {
      [entry] = (await decideReady({ ctx: o.ctx, ready: [{ pkg, deps, force: o.check === true && targets.has(name) }], records: o.records })) as [PlanEntry<BuildRecord>];
    } catch (e: unknown) {
      if (!(e instanceof LookupFailed)) throw e;
      return fail(name, e.error);
    }
    return settle(name, entry);
  };

  const settle = async (name: string, entry: PlanEntry<BuildRecord>): Promise<Outcome> => {
    switch (entry.state) {
      case 'cached': {
        const outputs = entry.record.outputs;
        o.current?.set(name, entry.record);
        o.pure?.offer(o.metadata.packages.get(name)!, entry.record);
        const from = o.substitutions?.get(entry.key);
        if (from) {
          summary.substituted.push(name);
          emit(packageEvent('substituted', name, { key: entry.key, outputs, ...from }));
        } else {
          summary.cached.push(name);
          emit(packageEvent('cached', name, { key: entry.key, outputs }));
        }
        return { ok: true, outputs, record: entry.record };
      }
      case 'build': {
        if (o.noBuild) return fail(name, new NotBuildableError('E_NOT_BUILT', `not built${entry.changed.length && entry.changed[0] !== 'never built' ? ` since ${entry.changed.join('; ')}` : ''}: run \`weld build ${name}\` first`));
        const pkg = o.metadata.packages.get(name)!;
        const outcomes = await Promise.all(o.metadata.graph.requires(name).map(visit));
        if (outcomes.some((r) => !r.ok)) throw new Error(`bug: ${name} planned to build behind a failed dependency`);
        const b: ToBuild = { pkg, key: entry.key, inputs: entry.inputs, changed: entry.changed, ...(entry.existing ? { existing: entry.existing } : {}) };
        if (!o.leases) return limit(() => runOne(b, outcomes));
        return leased(b, () => limit(() => runOne(b, outcomes)));
      }
      case 'unmirrored':
        return fail(name, new NotBuildableError(entry.code, entry.reason));
      default:
        throw new Error(`bug: decideReady gave ${entry.state}`);
    }
  };

  // Another session may have built the key while this one waited for its lease: its record is a hit.
  const leased = async (b: ToBuild, build: () => Promise<Outcome>): Promise<Outcome> => {
    const release = await o.leases!.acquire(b.key);
    try {
      if (!(o.check && targets.has(b.pkg.name))) {
        let found: BuildRecord | undefined;
        try {
          [found] = await o.records.byKeys([b.key]);
        } catch (e: unknown) {
          if (!(e instanceof LookupFailed)) throw e;
          return fail(b.pkg.name, e.error);
        }
        if (found) return settle(b.pkg.name, { state: 'cached', key: b.key, inputs: b.inputs, record: found });
      }
      return await build();
    } finally {
      release();
    }
  };

  const runOne = async (b: ToBuild, results: Outcome[]): Promise<Outcome> => {
    const name = b.pkg.name;
    if (o.signal?.aborted) return skip(name, new BuildCancelledError());
    const recipe = o.recipes.get(b.pkg.recipe);
    if (!recipe) {
      return fail(name, new NotBuildableError('E_NO_RECIPE', `recipe "${b.pkg.recipe}" was not found in recipes/`));
    }
    const from = o.check ? undefined : o.pure?.find(b.pkg, b.inputs);
    if (from) return share(b, from);
    const reqs = o.metadata.graph.requires(name);
    // Loaded on the first build: a no-op never needs it, nor the tar writer and the rest it brings.
    const { buildOne } = await import('./build-one.js');
    const r = await buildOne({
      pkg: b.pkg,
      key: b.key,
      inputs: b.inputs,
      changed: b.changed,
      distroCommit: o.metadata.lock[name]!.distro,
      recipe,
      ...(o.repairStep ? { repairStep: o.repairStep } : {}),
      deps: reqs.map((d, i) => ({ name: d, kind: o.metadata.packages.get(d)!.kind, outputs: (results[i] as { outputs: BuildOutput[] }).outputs })),
      store: o.store,
      runner: o.runner,
      mirrorsDir: o.mirrorsDir,
      logsDir: o.logsDir,
      workRoot: o.workRoot ?? os.tmpdir(),
      jobs: perBuild,
      weldVersion: o.weldVersion,
      ...(b.existing ? { existing: b.existing } : {}),
      ...(o.keepFailed ? { keepFailed: true } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      onEvent: emit,
    });
    if (!r.ok) return fail(name, r.error, { emitted: true });
    summary.built.push(name);
    o.current?.set(name, r.record);
    o.pure?.offer(b.pkg, r.record);
    if (o.check) summary.checks[name] = r.check ?? { compared: false, match: true, differences: [] };
    return { ok: true, outputs: r.outputs, record: r.record };
  };

  const share = async (b: ToBuild, from: BuildRecord): Promise<Outcome> => {
    const name = b.pkg.name;
    const record = sharedRecord({ from, key: b.key, inputs: b.inputs });
    const written = await o.store.writeRecords([{ kind: 'build', id: b.key, data: record }]);
    if (!written.ok) return fail(name, new BuildStepError('record', `could not write the build record: ${written.error.message}`, written.error.hint));
    summary.shared.push(name);
    o.current?.set(name, record);
    emit(packageEvent('cached', name, { key: b.key, outputs: record.outputs, sharedFrom: from.cacheKey }));
    return { ok: true, outputs: record.outputs, record };
  };

  await Promise.all([...o.plan.keys()].map(visit));
  for (const list of [summary.built, summary.cached, summary.substituted, summary.shared, summary.tested, summary.testsReused]) list.sort();
  summary.failed.sort((a, b) => (a.pkg < b.pkg ? -1 : 1));
  summary.skipped.sort((a, b) => (a.pkg < b.pkg ? -1 : 1));
  return summary;
}

/** The index could not be read mid-build: thrown by a records look-up, failing just that package. */
export class LookupFailed extends Error {
  constructor(readonly error: IndexError) {
    super(error.message);
  }
}
