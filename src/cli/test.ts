import os from 'node:os';
import { UsageError } from '../core/errors.js';
import { err, ok } from '../core/result.js';
import { METADATA_OPTIONS } from './args.js';
import { metadataForRunner, mirrorsFromArgs, packagesFromArgs, RUNNER_OPTION, runnerFromArgs } from './build-args.js';
import { jobsFromArgs, runBuild } from './build-run.js';
import type { VerbModule } from './commands.js';
import { eventLines } from './event-lines.js';
import { openStoreFromArgs, STORE_OPTION } from './store-args.js';
import { weldVersion } from './version.js';

export const spec: VerbModule['spec'] = {
  description:
    "Tests the wheels' current builds without building anything: each wheel with a [test] is\n" +
    'installed with its run-time (and [test] requires) wheels in its runtime env, for the\n' +
    "distro's arch with the network off, and its imports and commands run. A passed test is\n" +
    'recorded under its own key (wheel, requirements, env image, test spec) and not run\n' +
    'again; a package that is not built fails with the `weld build` to run.',
  options: {
    all: { type: 'boolean', description: 'test every wheel' },
    jobs: { type: 'string', short: 'j', value: '<n>', description: `tests at once (default: the number of cores, ${os.availableParallelism()} here)` },
    json: { type: 'boolean', description: 'print one JSON event per line' },
    ...RUNNER_OPTION,
    ...METADATA_OPTIONS,
    ...STORE_OPTION,
  },
  positionals: [{ name: 'package', variadic: true }],
  examples: ['weld test pyyaml', 'weld test --all', 'weld test --runner local markupsafe'],
};

export const run: VerbModule['run'] = async (args, io) => {
  const all = args.options['all'] === true;
  if (all === args.positionals.length > 0) {
    return err(new UsageError(all ? 'weld test: name packages or pass --all, not both' : 'weld test: name the packages to test, or pass --all', 'usage: weld test <package>… | --all'));
  }
  const jobs = jobsFromArgs(args, 'test');
  if (!jobs.ok) return jobs;
  const loaded = await metadataForRunner(args, io);
  if (!loaded.ok) return loaded;
  const metadata = loaded.value;
  const targets = packagesFromArgs({ verb: 'test', args, metadata, all });
  if (!targets.ok) return targets;
  const opened = await openStoreFromArgs(args, io, { create: true, metadata });
  if (!opened.ok) return opened;
  const runner = await runnerFromArgs({ args, io, metadata, store: opened.value.store });
  if (!runner.ok) return runner;
  const json = args.options['json'] === true;
  const { openSession } = await import('../session/session.js');
  const session = openSession({ metadata, store: opened.value.store, runner: runner.value, mirrorsDir: mirrorsFromArgs({ args, io, metadata }), weldVersion: weldVersion() });
  const tested = await runBuild({ io, session, targets: targets.value, jobs: jobs.value, json, testOnly: true });
  if (!tested.ok) return tested;
  if (json) eventLines(io).summary({ data: tested.value });
  return ok(tested.value);
};
