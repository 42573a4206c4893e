import os from 'node:os';
import { UsageError, WeldError } from '../core/errors.js';
import { err, ok } from '../core/result.js';
import type { BuildEvent } from '../build/events.js';
import type { BuildSummary } from '../build/executor.js';
import { METADATA_OPTIONS } from './args.js';
import { mirrorsFromArgs, packagesFromArgs, RUNNER_OPTION, runnerFromArgs } from './build-args.js';
import type { VerbModule } from './commands.js';
import { plural } from './format.js';
import type { CliIO } from './io.js';
import { openFromArgs } from './metadata-args.js';
import { openStoreFromArgs, STORE_OPTION } from './store-args.js';
import { weldVersion } from './version.js';

export const spec: VerbModule['spec'] = {
  description:
    'Builds the packages and everything they require, in dependency order and in parallel.\n' +
    'A build whose cache key (source tree, recipe, env image, arch, vars, dependency outputs)\n' +
    'has a record in the store is reused without running. Outputs, the log and a SLSA\n' +
    'provenance statement go into the store; the record is written last.',
  options: {
    all: { type: 'boolean', description: 'build every package' },
    jobs: { type: 'string', short: 'j', value: '<n>', description: `builds at once (default: the number of cores, ${os.availableParallelism()} here)` },
    check: { type: 'boolean', description: 'rebuild the named packages ignoring the cache and report whether the outputs match the records' },
    'keep-failed': { type: 'boolean', description: 'keep the work directory of a failed build and print where it is' },
    json: { type: 'boolean', description: 'print one JSON event per line' },
    ...RUNNER_OPTION,
    ...METADATA_OPTIONS,
    ...STORE_OPTION,
  },
  positionals: [{ name: 'package', variadic: true }],
  examples: ['weld build pyyaml', 'weld build --all --jobs 4', 'weld build --check pyyaml'],
};

class BuildFailedError extends WeldError {
  readonly code = 'E_BUILD_FAILED';
  constructor(
    message: string,
    readonly summary: BuildSummary,
  ) {
    super(message);
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), summary: this.summary };
  }
}

/** Plain lines, one per event; a failure shows the log's tail and how to see the rest. */
function plainRenderer(io: CliIO): (e: BuildEvent) => void {
  return (e) => {
    switch (e.type) {
      case 'warning':
        return void io.stderr.write(`weld: warning: ${e.message}\n`);
      case 'started':
        return void io.stdout.write(`${e.pkg}: building (${e.changed.join('; ')})\n`);
      case 'log':
        return void io.stdout.write(`${e.pkg} | ${e.line}\n`);
      case 'cached':
        return void io.stdout.write(`${e.pkg}: cached ${e.outputs.map((o) => o.name).join(', ')}\n`);
      case 'done':
        io.stdout.write(`${e.pkg}: built ${e.outputs.map((o) => o.name).join(', ')} in ${(e.durationMs / 1000).toFixed(1)} s\n`);
        if (e.check) io.stdout.write(`${e.pkg}: check: ${!e.check.compared ? 'no record to compare with (recorded this build)' : e.check.match ? 'outputs match the record' : `outputs DIFFER:\n  ${e.check.differences.join('\n  ')}`}\n`);
        return;
      case 'failed':
        io.stderr.write(`${e.pkg}: FAILED: ${e.reason}\n`);
        if (e.logTail.length) io.stderr.write(`${e.pkg}: last lines of the log:\n${e.logTail.map((l) => `  ${l}`).join('\n')}\n`);
        if (e.logFile) io.stderr.write(`${e.pkg}: the whole log: weld log ${e.pkg}   (${e.logFile})\n`);
        if (e.keptDir) io.stderr.write(`${e.pkg}: work directory kept: ${e.keptDir}\n`);
        return;
      case 'skipped':
        return void io.stderr.write(`${e.pkg}: skipped: ${e.reason}\n`);
    }
  };
}

export const run: VerbModule['run'] = async (args, io) => {
  const all = args.options['all'] === true;
  if (all === args.positionals.length > 0) {
    return err(new UsageError(all ? 'weld build: name packages or pass --all, not both' : 'weld build: name the packages to build, or pass --all', 'usage: weld build <package>… | --all'));
  }
  const jobs = args.options['jobs'] === undefined ? os.availableParallelism() : Number(args.options['jobs']);
  if (!Number.isInteger(jobs) || jobs < 1) return err(new UsageError(`weld build: --jobs must be a whole number of at least 1, not "${String(args.options['jobs'])}"`));
  // Picked first so a runner's slow probes overlap loading the metadata and the store.
  const picked = await runnerFromArgs(args, io);
  if (!picked.ok) return picked;
  const { runner } = picked.value;
  const loaded = await openFromArgs(args, io);
  if (!loaded.ok) return loaded;
  const metadata = loaded.value;
  const targets = packagesFromArgs({ verb: 'build', args, metadata, all });
  if (!targets.ok) return targets;
  const opened = await openStoreFromArgs(args, io, { create: true });
  if (!opened.ok) return opened;
  picked.value.attach({ metadata, store: opened.value.store, env: io.env });
  const json = args.options['json'] === true;
  const render = json ? (e: BuildEvent) => void io.stdout.write(JSON.stringify(e) + '\n') : plainRenderer(io);

  // Ctrl-C stops the running builds; the executor writes no record for them.
  const abort = new AbortController();
  const onInt = () => abort.abort();
  process.once('SIGINT', onInt);
  const { build } = await import('../build/build.js');
  let result;
  try {
    result = await build({
      metadata,
      store: opened.value.store,
      runner,
      mirrorsDir: mirrorsFromArgs({ args, io, metadata }),
      targets: targets.value,
      jobs,
      weldVersion: weldVersion(),
      signal: abort.signal,
      onEvent: render,
      ...(args.options['check'] ? { check: true } : {}),
      ...(args.options['keep-failed'] ? { keepFailed: true } : {}),
    });
  } finally {
    process.removeListener('SIGINT', onInt);
  }
  if (!result.ok) return result;
  const s = result.value;
  const mismatched = Object.entries(s.checks).filter(([, c]) => !c.match).map(([p]) => p);
  if (!json) io.stdout.write(`${plural(s.built.length, 'package')} built, ${s.cached.length} cached, ${s.failed.length} failed, ${s.skipped.length} skipped\n`);
  if (s.failed.length || s.skipped.length) {
    const what = [s.failed.length ? `failed: ${s.failed.map((f) => f.pkg).join(', ')}` : '', s.skipped.length ? `skipped: ${s.skipped.map((f) => f.pkg).join(', ')}` : ''].filter(Boolean).join('; ');
    return err(new BuildFailedError(`build ${what}`, s));
  }
  if (mismatched.length) return err(new BuildFailedError(`not reproducible: the rebuilt outputs of ${mismatched.join(', ')} differ from the records`, s));
  if (json) io.stdout.write(JSON.stringify({ type: 'summary', ...s }) + '\n');
  return ok(undefined);
};
