import os from 'node:os';
import { ok } from '../core/result.js';
import { METADATA_OPTIONS } from './args.js';
import { RUNNER_OPTION, TARGET_OPTION } from './build-args.js';
import { runBuild } from './build-run.js';
import { openBuildSession } from './build-session.js';
import type { VerbModule } from './commands.js';
import { eventLines } from './event-lines.js';
import { REMOTE_OPTIONS, STORE_OPTION } from './store-args.js';

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
    ...TARGET_OPTION,
    ...METADATA_OPTIONS,
    ...STORE_OPTION,
    ...REMOTE_OPTIONS,
  },
  positionals: [{ name: 'package', variadic: true }],
  examples: ['weld test pyyaml', 'weld test --all', 'weld test --runner local markupsafe'],
};

export const run: VerbModule['run'] = async (args, io) => {
  const opened = await openBuildSession({ verb: 'test', args, io });
  if (!opened.ok) return opened;
  const { runs, matrix, jobs } = opened.value;
  const json = args.options['json'] === true;
  const tested = await runBuild({ io, runs, matrix, jobs, json, testOnly: true });
  if (!tested.ok) return tested;
  if (json) eventLines(io).summary({ data: tested.value });
  return ok(tested.value);
};
