import os from 'node:os';
import { UsageError } from '../core/errors.js';
import { err, ok } from '../core/result.js';
import { repairPolicyProblem } from '../metadata/repair-policy.js';
import { METADATA_OPTIONS } from './args.js';
import { RUNNER_OPTION, TARGET_OPTION } from './build-args.js';
import { BuildFailedError, runBuild } from './build-run.js';
import { openBuildSession } from './build-session.js';
import type { VerbModule } from './commands.js';
import { eventLines } from './event-lines.js';
import { REMOTE_OPTIONS, STORE_OPTION } from './store-args.js';

export const spec: VerbModule['spec'] = {
  description:
    'Builds the packages and everything they require, in dependency order and in parallel.\n' +
    'A build whose cache key (source tree, recipe, env image, arch, vars, dependency outputs)\n' +
    'has a record in the store is reused without running. Outputs, the log and a SLSA\n' +
    'provenance statement go into the store; the record is written last. Each wheel with a\n' +
    '[test] is then tested in its runtime env (see `weld test`); a wheel whose test fails\n' +
    'fails, and its dependents are skipped.',
  options: {
    all: { type: 'boolean', description: 'build every package' },
    jobs: { type: 'string', short: 'j', value: '<n>', description: `builds at once (default: the number of cores, ${os.availableParallelism()} here)` },
    check: { type: 'boolean', description: 'rebuild the named packages ignoring the cache and report whether the outputs match the records' },
    'no-test': { type: 'boolean', description: 'do not test the wheels this run (composes then say which wheels are untested)' },
    'keep-failed': { type: 'boolean', description: 'keep the work directory of a failed build and print where it is' },
    json: { type: 'boolean', description: 'print one JSON event per line' },
    'repair-policy': { type: 'string', value: '<policy>', description: 'wheel repair for this run: manylinux, none, or a tag such as manylinux_2_28_s390x (over [build] repair and [distro] repair)' },
    ...RUNNER_OPTION,
    ...TARGET_OPTION,
    ...METADATA_OPTIONS,
    ...STORE_OPTION,
    ...REMOTE_OPTIONS,
  },
  positionals: [{ name: 'package', variadic: true }],
  examples: ['weld build pyyaml', 'weld build --all --jobs 4', 'weld build --all --no-test', 'weld build --check pyyaml', 'weld build --repair-policy manylinux_2_28_s390x markupsafe'],
};

export const run: VerbModule['run'] = async (args, io) => {
  const repairPolicy = args.options['repair-policy'] as string | undefined;
  const badPolicy = repairPolicy === undefined ? undefined : repairPolicyProblem(repairPolicy);
  if (badPolicy) return err(new UsageError(`weld build: --repair-policy: ${badPolicy}`));
  const opened = await openBuildSession({ verb: 'build', args, io, ...(repairPolicy ? { repairPolicy } : {}) });
  if (!opened.ok) return opened;
  const { runs, matrix, jobs } = opened.value;
  const json = args.options['json'] === true;
  const built = await runBuild({
    io,
    runs,
    matrix,
    jobs,
    json,
    check: args.options['check'] === true,
    keepFailed: args.options['keep-failed'] === true,
    noTest: args.options['no-test'] === true,
  });
  if (!built.ok) return built;
  const s = built.value;
  const mismatched = Object.entries(s.checks).filter(([, c]) => !c.match).map(([p]) => p);
  if (mismatched.length) return err(new BuildFailedError(`not reproducible: the rebuilt outputs of ${mismatched.join(', ')} differ from the records`, s));
  if (json) eventLines(io).summary({ data: s });
  return ok(s);
};
