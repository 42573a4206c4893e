import { readFile } from 'node:fs/promises';
import type { Digest } from '../core/digest.js';
import { ok } from '../core/result.js';
import type { CurrentTest } from '../session/session.js';
import type { Store } from '../store/store.js';
import type { TestRecord } from '../store/records.js';
import { METADATA_OPTIONS } from './args.js';
import { metadataForRunner, mirrorsFromArgs, packagesFromArgs, RUNNER_OPTION, runnerFromArgs, TARGET_OPTION, targetsFromArgs } from './build-args.js';
import { isMatrix } from '../metadata/targets.js';
import { matrixName } from '../session/matrix.js';
import type { PlanEntry } from '../plan/plan.js';
import type { BuildRecord } from '../store/records.js';
import type { VerbModule } from './commands.js';
import { json, table } from './format.js';
import { openStoreFromArgs, STORE_OPTION } from './store-args.js';

export const spec: VerbModule['spec'] = {
  description:
    'For each package (default: all): up to date (its build record), needs a build (and which\n' +
    'input changed since its last build), waits on a dependency that needs a build, or\n' +
    'cannot build (not mirrored, or behind a package that is not). A built wheel with a [test]\n' +
    'is also "untested" (its test has not run for the current key) or "test failed" (with the\n' +
    "tail of the test's log). Changes nothing.",
  options: { json: { type: 'boolean', description: 'print the status as JSON' }, ...RUNNER_OPTION, ...TARGET_OPTION, ...METADATA_OPTIONS, ...STORE_OPTION },
  positionals: [{ name: 'package', variadic: true }],
  examples: ['weld status', 'weld status pyyaml --json'],
};

export const run: VerbModule['run'] = async (args, io) => {
  const loaded = await metadataForRunner(args, io);
  if (!loaded.ok) return loaded;
  const metadata = loaded.value;
  const names = packagesFromArgs({ verb: 'status', args, metadata, all: args.positionals.length === 0 });
  if (!names.ok) return names;
  const opened = await openStoreFromArgs(args, io, { create: false, metadata });
  // No store yet just means nothing was built; any other store problem is reported.
  if (!opened.ok && opened.error.code !== 'E_STORE_NOT_FOUND') return opened;
  const runner = await runnerFromArgs({ args, io, metadata, ...(opened.ok ? { store: opened.value.store } : {}) });
  if (!runner.ok) return runner;
  const targets = targetsFromArgs(args, metadata, 'status');
  if (!targets.ok) return targets;
  const matrix = isMatrix(metadata);
  const { openMatrix } = await import('../session/matrix.js');
  const runs = openMatrix({ metadata, targets: targets.value, packages: names.value, runner: runner.value, mirrorsDir: mirrorsFromArgs({ args, io, metadata }), ...(opened.ok ? { store: opened.value.store } : {}) });
  const failedTests: Array<{ pkg: string; test: { record: TestRecord } }> = [];
  const rows: string[][] = [];
  const entries: unknown[] = [];
  // One plan per target; in a distro with several, a row per package and target.
  for (const { session, packages, target } of runs) {
    const planned = await session.plan({ targets: packages });
    if (!planned.ok) return planned;
    const plan = planned.value;
    const shown = packages.map((pkg) => ({ pkg, entry: plan.get(pkg)! }));
    const tests = await session.currentTests(shown.filter((s) => s.entry.state === 'cached').map((s) => s.pkg));
    if (!tests.ok) return tests;
    const testOf = (pkg: string): CurrentTest => tests.value.get(pkg) ?? { state: 'none' };
    const label = (pkg: string) => (matrix ? matrixName(pkg, target.name) : pkg);
    for (const { pkg, entry } of shown) {
      entries.push({ package: pkg, ...(matrix ? { target: target.name } : {}), ...entry, ...('inputs' in entry ? { inputs: undefined } : {}), ...(entry.state === 'cached' ? { test: testJson(testOf(pkg)) } : {}) });
      const row = statusRow(entry, testOf(pkg));
      if (row.failed) failedTests.push({ pkg: label(pkg), test: row.failed });
      rows.push(matrix ? [pkg, target.name, row.state, row.detail] : [pkg, row.state, row.detail]);
    }
  }
  if (args.options['json']) {
    io.stdout.write(json(entries));
    return ok(undefined);
  }
  io.stdout.write(table(rows));
  for (const { pkg, test } of failedTests) {
    const tail = await logTail({ store: opened.ok ? opened.value.store : undefined, digest: test.record.log, lines: 10 });
    if (tail.length) io.stdout.write(`\n${pkg}: last lines of the test log:\n${tail.map((l) => `  ${l}`).join('\n')}\n`);
    io.stdout.write(`${pkg}: the whole log: weld log --test ${pkg.replace(/@(.*)$/, ' --target $1')}\n`);
  }
  return ok(undefined);
};

/** A package's state, and its failed test to show the log of. */
function statusRow(entry: PlanEntry<BuildRecord>, test: CurrentTest): { state: string; detail: string; failed?: { record: TestRecord } } {
  switch (entry.state) {
    case 'cached': {
      const built = `${entry.record.outputs.map((o) => o.name).join(', ')} (built ${entry.record.timings.finishedAt}, key ${entry.key.slice(7, 19)}${entry.record.sharedFrom ? `, pure wheel of key ${entry.record.sharedFrom.cacheKey.slice(7, 19)}` : ''})`;
      if (test.state === 'failed') return { state: 'test failed', detail: `${test.record.failure ?? 'the test failed'}; ${built}`, failed: test };
      if (test.state === 'untested') return { state: 'untested', detail: `${test.reason}; ${built}` };
      return { state: 'up to date', detail: test.state === 'passed' ? `${built}, tested` : built };
    }
    case 'build':
      return { state: 'needs build', detail: entry.changed.join('; ') };
    case 'pending':
      return { state: 'needs build', detail: `after ${entry.waitingOn.join(', ')} (its key needs their outputs)` };
    case 'unmirrored':
      return { state: 'cannot build', detail: entry.reason };
    case 'blocked':
      return { state: 'cannot build', detail: `requires ${entry.by.join(', ')}, which cannot build` };
  }
}

function testJson(t: CurrentTest): Record<string, unknown> {
  switch (t.state) {
    case 'passed':
    case 'failed':
      return { state: t.state, testKey: t.record.testKey, env: t.record.env, ...(t.record.failure ? { failure: t.record.failure } : {}), log: t.record.log };
    case 'untested':
      return { state: 'untested', reason: t.reason };
    case 'none':
      return { state: 'none' };
  }
}

/** The last lines of a stored log (a test log is small: read whole). */
async function logTail(o: { store: Store | undefined; digest: string | null; lines: number }): Promise<string[]> {
  if (!o.store || !o.digest) return [];
  const blob = await o.store.stat(o.digest as Digest);
  if (!blob.ok) return [];
  const text = await readFile(blob.value.path, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l !== '').slice(-o.lines);
}
