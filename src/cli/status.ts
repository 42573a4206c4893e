import { readFile } from 'node:fs/promises';
import type { Digest } from '../core/digest.js';
import { ok } from '../core/result.js';
import type { CurrentTest } from '../session/session.js';
import type { Store } from '../store/store.js';
import type { TestRecord } from '../store/records.js';
import { METADATA_OPTIONS } from './args.js';
import { metadataForRunner, mirrorsFromArgs, packagesFromArgs, RUNNER_OPTION, runnerFromArgs } from './build-args.js';
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
  options: { json: { type: 'boolean', description: 'print the status as JSON' }, ...RUNNER_OPTION, ...METADATA_OPTIONS, ...STORE_OPTION },
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
  const { openSession } = await import('../session/session.js');
  const session = openSession({ metadata, runner: runner.value, mirrorsDir: mirrorsFromArgs({ args, io, metadata }), ...(opened.ok ? { store: opened.value.store } : {}) });
  const planned = await session.plan({ targets: names.value });
  if (!planned.ok) return planned;
  const plan = planned.value;
  const shown = names.value.map((pkg) => ({ pkg, entry: plan.get(pkg)! }));
  const tests = await session.currentTests(shown.filter((s) => s.entry.state === 'cached').map((s) => s.pkg));
  if (!tests.ok) return tests;
  const testOf = (pkg: string): CurrentTest => tests.value.get(pkg) ?? { state: 'none' };
  if (args.options['json']) {
    io.stdout.write(json(shown.map(({ pkg, entry }) => ({ package: pkg, ...entry, ...('inputs' in entry ? { inputs: undefined } : {}), ...(entry.state === 'cached' ? { test: testJson(testOf(pkg)) } : {}) }))));
    return ok(undefined);
  }
  const failedTests: Array<{ pkg: string; test: { record: TestRecord } }> = [];
  const rows = shown.map(({ pkg, entry }) => {
    switch (entry.state) {
      case 'cached': {
        const built = `${entry.record.outputs.map((o) => o.name).join(', ')} (built ${entry.record.timings.finishedAt}, key ${entry.key.slice(7, 19)})`;
        const test = testOf(pkg);
        if (test.state === 'failed') {
          failedTests.push({ pkg, test });
          return [pkg, 'test failed', `${test.record.failure ?? 'the test failed'}; ${built}`];
        }
        if (test.state === 'untested') return [pkg, 'untested', `${test.reason}; ${built}`];
        return [pkg, 'up to date', test.state === 'passed' ? `${built}, tested` : built];
      }
      case 'build':
        return [pkg, 'needs build', entry.changed.join('; ')];
      case 'pending':
        return [pkg, 'needs build', `after ${entry.waitingOn.join(', ')} (its key needs their outputs)`];
      case 'unmirrored':
        return [pkg, 'cannot build', entry.reason];
      case 'blocked':
        return [pkg, 'cannot build', `requires ${entry.by.join(', ')}, which cannot build`];
    }
  });
  io.stdout.write(table(rows));
  for (const { pkg, test } of failedTests) {
    const tail = await logTail({ store: opened.ok ? opened.value.store : undefined, digest: test.record.log, lines: 10 });
    if (tail.length) io.stdout.write(`\n${pkg}: last lines of the test log:\n${tail.map((l) => `  ${l}`).join('\n')}\n`);
    io.stdout.write(`${pkg}: the whole log: weld log --test ${pkg}\n`);
  }
  return ok(undefined);
};

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
