import { canonicalJson, sha256Of } from '../core/digest.js';
import type { Metadata } from '../metadata/model.js';
import { hasTest } from '../metadata/test-env.js';
import type { Runner } from '../runner/runner.js';
import { loadTestStep } from './recipes.js';
import type { TestContext } from './test-phase.js';

export interface PreparedTests {
  /** undefined when none of the packages has a test */
  ctx: Omit<TestContext, 'lookup'> | undefined;
  warnings: string[];
  /** what test records name (env descriptions, the step): stored before a test runs */
  blobs: string[];
}

/** The test step and each test env's image, gathered once per session (like prepare.ts for builds). */
export async function prepareTests(o: { metadata: Metadata; runner: Runner; packages: string[] }): Promise<PreparedTests> {
  const wheels = o.packages.map((n) => o.metadata.packages.get(n)!).filter((p) => p && p.kind === 'wheel' && hasTest(p.test));
  if (wheels.length === 0) return { ctx: undefined, warnings: [], blobs: [] };
  const warnings: string[] = [];
  const blobs: string[] = [];
  const step = await loadTestStep({ read: o.metadata.read });
  const envs: TestContext['envs'] = new Map();
  for (const env of new Set(wheels.map((p) => p.test.env))) {
    if (!step) {
      envs.set(env, { problem: 'the test step (recipes/lib/test-step.sh and test_wheel.py) is missing from recipes/lib; restore it from weld' });
      continue;
    }
    const info = await o.runner.info({ env });
    if (info.unavailable) {
      envs.set(env, { problem: info.unavailable });
      continue;
    }
    const json = canonicalJson(info.envImage);
    blobs.push(json);
    envs.set(env, { digest: sha256Of(json) });
    const mismatch = pythonMismatch({ metadata: o.metadata, env, runnerPython: info.python });
    if (mismatch) warnings.push(`${o.runner.name} runner: tests run with Python ${info.python}, but env "${env}" has Python ${mismatch}; a wheel that passes here may still fail there (test in podman: --runner podman)`);
  }
  // Without the step every env carries the problem above, and no test key is ever made.
  if (!step) return { ctx: { envs }, warnings, blobs };
  blobs.push(step.json);
  return { ctx: { step, program: sha256Of(step.json), envs }, warnings, blobs };
}

/** The env's Python (major.minor, from its locked python3 deb) when the runner's differs; undefined when they agree or either is unknown. */
function pythonMismatch(o: { metadata: Metadata; env: string; runnerPython: string | undefined }): string | undefined {
  if (!o.runnerPython) return undefined;
  const deb = o.metadata.envs.get(o.env)?.lock?.debs.find((d) => d.name === 'python3');
  const envPython = deb ? /^(?:\d+:)?(\d+\.\d+)/.exec(deb.version)?.[1] : undefined;
  if (!envPython) return undefined;
  const runner = /^(\d+\.\d+)/.exec(o.runnerPython)?.[1];
  return runner === envPython ? undefined : envPython;
}
