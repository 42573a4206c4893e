import { ok } from '../core/result.js';
import { METADATA_OPTIONS } from './args.js';
import { metadataForRunner, mirrorsFromArgs, packagesFromArgs, RUNNER_OPTION, runnerFromArgs } from './build-args.js';
import type { VerbModule } from './commands.js';
import { json, table } from './format.js';
import { openStoreFromArgs, STORE_OPTION } from './store-args.js';

export const spec: VerbModule['spec'] = {
  description:
    'For each package (default: all): up to date (its build record), needs a build (and which\n' +
    'input changed since its last build), waits on a dependency that needs a build, or\n' +
    'cannot build (not mirrored, or behind a package that is not). Changes nothing.',
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
  if (args.options['json']) {
    io.stdout.write(json(shown.map(({ pkg, entry }) => ({ package: pkg, ...entry, ...('inputs' in entry ? { inputs: undefined } : {}) }))));
    return ok(undefined);
  }
  const rows = shown.map(({ pkg, entry }) => {
    switch (entry.state) {
      case 'cached':
        return [pkg, 'up to date', `${entry.record.outputs.map((o) => o.name).join(', ')} (built ${entry.record.timings.finishedAt}, key ${entry.key.slice(7, 19)})`];
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
  return ok(undefined);
};
