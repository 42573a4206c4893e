import type { WeldError } from '../core/errors.js';
import { ok, type Result } from '../core/result.js';
import type { Metadata } from '../metadata/model.js';
import { planBuild, recordsIn, type PlanEntry, type RecordsLookup } from '../plan/plan.js';
import type { Runner } from '../runner/runner.js';
import type { IndexSession } from '../store/index.js';
import type { BuildRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { warningEvent, type BuildListener } from './events.js';
import { executeBuild, LookupFailed, type BuildSummary } from './executor.js';
import type { BuildLeases } from './leases.js';
import { logsDirOf } from './logs.js';
import { preparePlan, storeInputs, type Prepared } from './prepare.js';
import { hasTest } from '../metadata/test-env.js';
import { testClosure, testKey, withTestNeeds } from '../plan/test-key.js';
import type { TestRecord } from '../store/records.js';
import { testInputs, type TestContext } from './test-phase.js';
import { prepareTests, type PreparedTests } from './tests-prepare.js';
import type { RemoteSettings } from '../store/remote/config.js';
import { SessionRemote } from './substitute.js';
import type { Digest } from '../core/digest.js';
import type { PureWheels } from './pure-wheels.js';

export interface SessionOptions {
  metadata: Metadata;
  /** none: nothing was ever built (status before the first build); building needs one */
  store?: Store;
  runner: Runner;
  mirrorsDir: string;
  /** `--repair-policy`: every wheel's repair policy for this run, over the metadata's */
  repairPolicy?: string;
  weldVersion?: string;
  /** the store remote: look-ups the store misses ask it, and what is built is pushed when it says so */
  remote?: RemoteSettings;
}

export interface SessionBuildOptions {
  targets: string[];
  /** builds at once (default: the number of cores) */
  jobs?: number;
  /** rebuild the targets ignoring the cache and compare with their records */
  check?: boolean;
  keepFailed?: boolean;
  /** `--no-test`: build without testing the wheels (composes then say which are untested) */
  noTest?: boolean;
  workRoot?: string;
  signal?: AbortSignal;
  onEvent?: BuildListener;
  /** shared by the build service's jobs: one build per cache key at a time */
  leases?: BuildLeases;
  /** shared by a matrix build's targets (matrix.ts): pure wheels are built once */
  pure?: PureWheels;
}

/** A wheel's test as the metadata and the store have it now. */
export type CurrentTest =
  | { state: 'passed' | 'failed'; record: TestRecord }
  /** never run for the current key (or the build itself is not current); `reason` says which */
  | { state: 'untested'; reason: string }
  /** not a wheel, or its [test] gives nothing to run */
  | { state: 'none' };

/** A package's build as the metadata asks for it now: in the store, or why it is not. */
export type CurrentBuild = { state: 'built'; record: BuildRecord } | { state: 'missing'; reason: string };

export type BuildPlan = Map<string, PlanEntry<BuildRecord>>;

/**
 * One command's (or one service job's) view of a build: the metadata, the store and the
 * runner, opened once by the caller; recipes, env images and commit times gathered once
 * (prepare); records found by cache key through the index, never by reading them all.
 * Status, composes, `weld build` and `weld up` are calls on it.
 */
export class BuildSession {
  private prepared: { packages: Set<string>; value: Promise<Prepared> } | undefined;
  /** records this session's builds ended with: the metadata is fixed for a session, so they stay current */
  private readonly current = new Map<string, BuildRecord>();
  private lastTargets: { targets: string[]; packages: string[] } | undefined;
  private preparedTests: { packages: Set<string>; value: Promise<PreparedTests> } | undefined;

  constructor(readonly o: SessionOptions) {}

  /** What would happen for `targets` now: one DAG walk, one index session. Writes nothing. */
  async plan(opts: { targets: string[]; force?: Set<string> }): Promise<Result<BuildPlan, WeldError>> {
    const prepared = await this.prepare(opts.targets);
    const walk = (records: RecordsLookup<BuildRecord>) => planBuild({ ctx: prepared.ctx, targets: opts.targets, records, ...(opts.force ? { force: opts.force } : {}) });
    if (!this.o.store) return ok(await walk(recordsIn<BuildRecord>([])));
    return this.o.store.withIndex('plan builds', (s) => walk(indexLookup(s)));
  }

  /** For each package, the record whose cache key matches the metadata now — what composes are made of. */
  async currentBuilds(packages: string[]): Promise<Result<Map<string, CurrentBuild>, WeldError>> {
    // After a build of them (compose --build, weld up), no second plan: the build said what is current.
    if (packages.every((p) => this.current.has(p))) return ok(new Map(packages.map((p) => [p, { state: 'built', record: this.current.get(p)! }])));
    const planned = await this.plan({ targets: packages });
    if (!planned.ok) return planned;
    const out = new Map<string, CurrentBuild>();
    for (const pkg of packages) {
      const entry = planned.value.get(pkg)!;
      out.set(pkg, entry.state === 'cached' ? { state: 'built', record: entry.record } : { state: 'missing', reason: missingReason(entry) });
    }
    return ok(out);
  }

  /** Builds the targets and what they need: plans once, then carries the plan out. */
  async build(opts: SessionBuildOptions): Promise<Result<BuildSummary, WeldError>> {
    return this.carryOut(opts, { build: true });
  }

  /** `weld test`: tests the targets' current builds (and what they install); builds nothing. */
  async test(opts: Omit<SessionBuildOptions, 'check' | 'noTest' | 'keepFailed'>): Promise<Result<BuildSummary, WeldError>> {
    return this.carryOut(opts, { build: false });
  }

  private async carryOut(opts: SessionBuildOptions, mode: { build: boolean }): Promise<Result<BuildSummary, WeldError>> {
    const store = this.o.store;
    if (!store) throw new Error('bug: a build session without a store cannot build');
    const testing = !opts.noTest;
    const targets = testing ? withTestNeeds(this.o.metadata, opts.targets) : opts.targets;
    const prepared = await this.prepare(targets);
    const tests = testing ? await this.prepareTests(targets) : undefined;
    for (const message of [...prepared.warnings, ...(tests?.warnings ?? [])]) opts.onEvent?.(warningEvent(message));
    const put = await this.storeInputs(targets);
    if (!put.ok) return put;
    if (tests) {
      const putTests = await storeInputs({ store, blobs: tests.blobs });
      if (!putTests.ok) return putTests;
    }
    const planned = await this.plan({ targets, ...(opts.check ? { force: new Set(opts.targets) } : {}) });
    if (!planned.ok) return planned;
    const remote = this.o.remote ? new SessionRemote(this.o.remote, store, opts.onEvent ?? (() => {})) : undefined;
    try {
      if (remote) await substitutePlanned({ plan: planned.value, remote, forced: opts.check ? new Set(opts.targets) : new Set() });
      const summary = await this.execute({ opts, mode, targets, prepared, tests, plan: planned.value, remote });
      await remote?.pushBuilt(summary.built.map((p) => this.current.get(p)).filter((r): r is BuildRecord => r !== undefined));
      return ok(summary);
    } finally {
      await remote?.close();
    }
  }

  private execute(o: { opts: SessionBuildOptions; mode: { build: boolean }; targets: string[]; prepared: Prepared; tests: PreparedTests | undefined; plan: BuildPlan; remote: SessionRemote | undefined }): Promise<BuildSummary> {
    const { opts, mode, targets, prepared, tests, remote } = o;
    const store = this.o.store!;
    return executeBuild({
      ...opts,
      targets,
      ...(mode.build ? {} : { noBuild: true }),
      ...(remote ? { substitutions: remote.substituted } : {}),
      ...(tests?.ctx ? { tests: { ...tests.ctx, lookup: testLookup(store, remote) } } : {}),
      metadata: this.o.metadata,
      ctx: prepared.ctx,
      plan: o.plan,
      records: pointLookups(store, remote),
      recipes: prepared.recipes,
      ...(prepared.repairStep ? { repairStep: prepared.repairStep } : {}),
      store,
      runner: this.o.runner,
      mirrorsDir: this.o.mirrorsDir,
      logsDir: logsDirOf(this.o.metadata),
      weldVersion: this.o.weldVersion ?? 'unknown',
      current: this.current,
    });
  }

  /** For each package, its test for the current build: passed, failed, untested, or none to run. */
  async currentTests(packages: string[]): Promise<Result<Map<string, CurrentTest>, WeldError>> {
    const { metadata } = this.o;
    const withTest = packages.filter((p) => {
      const pkg = metadata.packages.get(p);
      return pkg?.kind === 'wheel' && hasTest(pkg.test);
    });
    const out = new Map<string, CurrentTest>(packages.map((p) => [p, { state: 'none' }]));
    if (withTest.length === 0 || !this.o.store) {
      for (const p of withTest) out.set(p, { state: 'untested', reason: 'never built' });
      return ok(out);
    }
    const needed = withTestNeeds(metadata, withTest);
    const builds = await this.currentBuilds(needed);
    if (!builds.ok) return builds;
    const tests = await this.prepareTests(needed);
    const keys: Array<{ pkg: string; key: string }> = [];
    for (const p of withTest) {
      const pkg = metadata.packages.get(p)!;
      const own = builds.value.get(p)!;
      if (own.state !== 'built') {
        out.set(p, { state: 'untested', reason: `its build is not current (${own.reason})` });
        continue;
      }
      const reqs = testClosure(metadata, pkg).map((r) => ({ name: r, current: builds.value.get(r)! }));
      const missing = reqs.filter((r) => r.current.state !== 'built').map((r) => r.name);
      if (missing.length) {
        out.set(p, { state: 'untested', reason: `${missing.join(', ')}, which its test installs, ${missing.length === 1 ? 'is' : 'are'} not built` });
        continue;
      }
      const requirements = reqs.map((r) => ({ name: r.name, record: (r.current as { record: BuildRecord }).record }));
      const inputs = tests.ctx ? testInputs({ tests: tests.ctx, pkg, build: own.record, requirements }) : { problem: 'no test step' };
      if ('problem' in inputs) out.set(p, { state: 'untested', reason: inputs.problem });
      else keys.push({ pkg: p, key: testKey(inputs) });
    }
    if (keys.length === 0) return ok(out);
    const found = await this.o.store.withIndex('look up tests', (s) => s.testRecords(keys.map((k) => k.key)));
    if (!found.ok) return found;
    keys.forEach(({ pkg }, i) => {
      const record = found.value[i];
      out.set(pkg, record ? { state: record.passed ? 'passed' : 'failed', record } : { state: 'untested', reason: 'not tested since it was built (`weld build --no-test`, or the test changed)' });
    });
    return ok(out);
  }

  /** Puts the env descriptions and recipes the targets' records will name into the store. */
  async storeInputs(targets: string[]): Promise<Result<void, WeldError>> {
    if (!this.o.store) throw new Error('bug: storeInputs without a store');
    return storeInputs({ store: this.o.store, blobs: (await this.prepare(targets)).blobs });
  }

  /** Like prepare, for the test step: probed only when something is tested. */
  private prepareTests(targets: string[]): Promise<PreparedTests> {
    const packages = this.o.metadata.graph.subgraph(targets).order();
    if (this.preparedTests && packages.every((p) => this.preparedTests!.packages.has(p))) return this.preparedTests.value;
    const all = [...new Set([...(this.preparedTests?.packages ?? []), ...packages])];
    const value = prepareTests({ metadata: this.o.metadata, runner: this.o.runner, packages: all });
    this.preparedTests = { packages: new Set(all), value };
    return value;
  }

  /** Prepared once per session; a later call for packages outside the first set prepares the union. */
  private prepare(targets: string[]): Promise<Prepared> {
    // build() asks three times with the same array: the closure walk is done once.
    if (this.lastTargets?.targets !== targets) this.lastTargets = { targets, packages: this.o.metadata.graph.subgraph(targets).order() };
    const packages = this.lastTargets.packages;
    if (this.prepared && packages.every((p) => this.prepared!.packages.has(p))) return this.prepared.value;
    const all = [...new Set([...(this.prepared?.packages ?? []), ...packages])];
    const value = preparePlan({ metadata: this.o.metadata, runner: this.o.runner, mirrorsDir: this.o.mirrorsDir, packages: all, ...(this.o.repairPolicy ? { repairPolicy: this.o.repairPolicy } : {}) });
    this.prepared = { packages: new Set(all), value };
    return value;
  }
}

export function openSession(o: SessionOptions): BuildSession {
  return new BuildSession(o);
}

function indexLookup(s: IndexSession): RecordsLookup<BuildRecord> {
  return { byKeys: (keys) => s.buildRecords(keys), newest: (pkgs) => s.newestBuilds(pkgs) };
}

/**
 * Look-ups in an index session of their own each (the executor serialises them with its
 * writes); what the store misses, the store remote is asked for.
 */
function pointLookups(store: Store, remote: SessionRemote | undefined): RecordsLookup<BuildRecord> {
  const inIndex = async <T>(fn: (s: IndexSession) => Promise<T>): Promise<T> => {
    const r = await store.withIndex('look up builds', fn);
    // The executor fails just this package with the message (see carryOut).
    if (!r.ok) throw new LookupFailed(r.error);
    return r.value;
  };
  const byKeys = async (keys: readonly Digest[]) => {
    const local = await inIndex((s) => s.buildRecords(keys));
    if (!remote) return local;
    const misses = keys.filter((_, i) => local[i] === undefined);
    if (misses.length === 0) return local;
    const pulled = new Map(misses.map((k, i) => [k, i]));
    const got = await remote.builds(misses);
    return local.map((r, i) => r ?? got[pulled.get(keys[i]!)!]);
  };
  return { byKeys, newest: (pkgs) => inIndex((s) => s.newestBuilds(pkgs)) };
}

/**
 * Test records by key. The look-ups a turn of the event loop asks for share one index
 * session: a no-op build asks one per wheel at once, and an index session each (an open
 * and close of LevelDB, ~20 ms) made 1,000 cached wheels cost 15 s.
 */
function testLookup(store: Store, remote: SessionRemote | undefined): TestContext['lookup'] {
  let queue: Array<{ key: Digest; resolve: (r: TestRecord | undefined) => void; reject: (e: unknown) => void }> = [];
  const flush = async () => {
    const batch = queue;
    queue = [];
    try {
      const r = await store.withIndex('look up tests', (s) => s.testRecords(batch.map((b) => b.key)));
      // An unreadable index means no reuse: the test runs again, and its record write will say what is wrong.
      for (const [i, b] of batch.entries()) {
        const local = r.ok ? r.value[i] : undefined;
        b.resolve(local ?? (remote && r.ok ? await remote.test(b.key) : undefined));
      }
    } catch (e: unknown) {
      for (const b of batch) b.reject(e);
    }
  };
  return (key) =>
    new Promise((resolve, reject) => {
      if (queue.push({ key: key as Digest, resolve, reject }) === 1) setImmediate(() => void flush());
    });
}

/**
 * The plan's builds whose keys are known now, asked of the store remote in one go: a hit
 * is pulled and becomes a cached entry. --check's targets are rebuilt, never substituted.
 */
async function substitutePlanned(o: { plan: BuildPlan; remote: SessionRemote; forced: Set<string> }): Promise<void> {
  const wanted = [...o.plan].filter(([name, e]) => e.state === 'build' && !o.forced.has(name)) as Array<[string, Extract<PlanEntry<BuildRecord>, { state: 'build' }>]>;
  if (wanted.length === 0) return;
  const got = await o.remote.builds(wanted.map(([, e]) => e.key));
  wanted.forEach(([name, e], i) => {
    const record = got[i];
    if (record) o.plan.set(name, { state: 'cached', key: e.key, inputs: e.inputs, record });
  });
}

function missingReason(entry: PlanEntry<BuildRecord>): string {
  switch (entry.state) {
    case 'cached':
      return 'its record vanished while reading';
    case 'build':
      return entry.changed[0] === 'never built' ? 'never built' : `not built since its inputs changed: ${entry.changed.join('; ')}`;
    case 'pending':
      return `not built: ${entry.waitingOn.join(', ')} must build first`;
    case 'unmirrored':
      return entry.reason;
    case 'blocked':
      return `requires ${entry.by.join(', ')}, which cannot build`;
  }
}
