import { UsageError, type WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import { isMatrix } from '../metadata/targets.js';
import type { TargetRun } from '../session/matrix.js';
import type { ParsedArgs } from './args.js';
import { metadataForRunner, mirrorsFromArgs, packagesFromArgs, runnerFromArgs, targetsFromArgs } from './build-args.js';
import { jobsFromArgs } from './build-run.js';
import type { CliIO } from './io.js';
import { openStoreFromArgs, remoteFromArgs } from './store-args.js';
import { weldVersion } from './version.js';

/**
 * What `weld build` and `weld test` open before they run: the packages (named, or
 * --all), --jobs, the metadata, the store, the runner, and the session over them.
 */
export async function openBuildSession(o: { verb: 'build' | 'test'; args: ParsedArgs; io: CliIO; repairPolicy?: string }): Promise<Result<OpenedBuild, WeldError>> {
  const { verb, args, io } = o;
  const all = args.options['all'] === true;
  if (all === args.positionals.length > 0) {
    return err(new UsageError(all ? `weld ${verb}: name packages or pass --all, not both` : `weld ${verb}: name the packages to ${verb}, or pass --all`, `usage: weld ${verb} <package>… | --all`));
  }
  const jobs = jobsFromArgs(args, verb);
  if (!jobs.ok) return jobs;
  const loaded = await metadataForRunner(args, io);
  if (!loaded.ok) return loaded;
  const metadata = loaded.value;
  const packages = packagesFromArgs({ verb, args, metadata, all });
  if (!packages.ok) return packages;
  const targets = targetsFromArgs(args, metadata, verb);
  if (!targets.ok) return targets;
  const opened = await openStoreFromArgs(args, io, { create: true, metadata });
  if (!opened.ok) return opened;
  const remote = await remoteFromArgs(args, io, { metadata });
  if (!remote.ok) return remote;
  // with backends, the engines pull env images from the store remote
  const runner = await runnerFromArgs({ args, io, metadata, store: opened.value.store, ...(remote.value ? { registry: remote.value } : {}) });
  if (!runner.ok) return runner;
  const { openMatrix } = await import('../session/matrix.js');
  const runs = openMatrix({ metadata, targets: targets.value, packages: packages.value, store: opened.value.store, runner: runner.value, mirrorsDir: mirrorsFromArgs({ args, io, metadata }), weldVersion: weldVersion(), ...(remote.value ? { remote: remote.value } : {}), ...(o.repairPolicy ? { repairPolicy: o.repairPolicy } : {}) });
  if (runs.length === 0) return err(new UsageError(`weld ${verb}: ${packages.value.join(', ')} ${packages.value.length === 1 ? 'builds' : 'build'} for none of ${targets.value.map((t) => t.name).join(', ')}`, 'see [build] targets in their package files'));
  return ok({ runs, matrix: isMatrix(metadata), jobs: jobs.value });
}

/** What `weld build` and `weld test` run: one session per target (one in a single-target distro). */
export interface OpenedBuild {
  runs: TargetRun[];
  /** the distro has several targets: builds are named <package>@<target> */
  matrix: boolean;
  jobs: number;
}
