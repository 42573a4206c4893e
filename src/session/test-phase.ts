import type { Digest } from '../core/digest.js';
import type { Package } from '../metadata/model.js';
import { testKey, type TestKeyInputs } from '../plan/test-key.js';
import type { Runner } from '../runner/runner.js';
import type { BuildRecord, TestRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { packageEvent, type BuildListener } from './events.js';
import { TestFailedError } from './failures.js';
import type { RecipeBundle } from './recipes.js';
import { testOne, type TestOneResult } from './test-one.js';

/** `reused`: a passed record for the key was found and nothing ran. */
export type TestPhaseResult = (TestOneResult & { ok: false }) | { ok: true; record: TestRecord; reused: boolean };

/** What testing needs that a session gathers once: the step, and each test env's image. */
export interface TestContext {
  /** the step and its digest; absent when recipes/lib/ lacks it (every env then says so) */
  step?: RecipeBundle;
  program?: Digest;
  /** test env → its image digest, or why it has none */
  envs: Map<string, { digest: Digest } | { problem: string }>;
  /** the test record of a key (undefined: none, or unreadable) */
  lookup: (key: Digest) => Promise<TestRecord | undefined>;
}

export interface TestPhaseOptions {
  tests: TestContext;
  pkg: Package;
  build: BuildRecord;
  /** the current builds of the other wheels the test installs */
  requirements: Array<{ name: string; record: BuildRecord }>;
  sourceDateEpoch: number;
  store: Store;
  runner: Runner;
  mirrorsDir: string;
  logsDir: string;
  workRoot: string;
  weldVersion: string;
  signal?: AbortSignal;
  onEvent: BuildListener;
  /** runs the test itself when a build slot is free (the look-up of a reusable record needs none) */
  slot?: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** The key of a wheel's test, from its build and the builds of what it installs. */
export function testInputs(o: { tests: Pick<TestContext, 'envs' | 'program'>; pkg: Package; build: BuildRecord; requirements: Array<{ name: string; record: BuildRecord }> }): TestKeyInputs | { problem: string } {
  const env = o.tests.envs.get(o.pkg.test.env);
  if (!env) return { problem: `test env "${o.pkg.test.env}" was not prepared` };
  if ('problem' in env) return env;
  if (!o.tests.program) return { problem: 'the test step is missing from recipes/lib' };
  return {
    package: o.pkg.name,
    wheels: o.build.outputs.map((x) => x.digest),
    sourceTree: o.build.sourceTree,
    requirements: Object.fromEntries(o.requirements.map((r) => [r.name, r.record.outputs.map((x) => x.digest)])),
    envImage: env.digest,
    arch: o.build.arch,
    spec: { imports: o.pkg.test.imports, commands: o.pkg.test.commands, requires: o.pkg.test.requires },
    program: o.tests.program,
  };
}

/** Tests a wheel unless a passed record has its key; a failed record is run again. */
export async function runTestPhase(o: TestPhaseOptions): Promise<TestPhaseResult> {
  const inputs = testInputs(o);
  if ('problem' in inputs) {
    const error = new TestFailedError(`cannot test: ${inputs.problem}`);
    o.onEvent(packageEvent('test-failed', o.pkg.name, { error, logTail: [] }));
    return { ok: false, error };
  }
  const key = testKey(inputs);
  const step = o.tests.step!; // a key was made, so the step was found
  const found = await o.tests.lookup(key);
  if (found?.passed) {
    o.onEvent(packageEvent('tested', o.pkg.name, { testKey: key, reused: true, durationMs: 0 }));
    return { ok: true, record: found, reused: true };
  }
  const slot = o.slot ?? ((fn) => fn());
  const r = await slot(() => testOne({
    pkg: o.pkg,
    build: o.build,
    key,
    inputs,
    step,
    requirements: o.requirements.map((r) => ({ name: r.name, outputs: r.record.outputs })),
    store: o.store,
    runner: o.runner,
    mirrorsDir: o.mirrorsDir,
    logsDir: o.logsDir,
    workRoot: o.workRoot,
    weldVersion: o.weldVersion,
    sourceDateEpoch: o.sourceDateEpoch,
    ...(o.signal ? { signal: o.signal } : {}),
    onEvent: o.onEvent,
  }));
  return r.ok ? { ...r, reused: false } : r;
}
