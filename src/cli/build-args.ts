import type { UsageError, WeldError } from '../core/errors.js';
import { ok, type Result } from '../core/result.js';
import type { Metadata } from '../metadata/model.js';
import { mirrorsDirFor } from '../mirror/mirror.js';
import type { Runner } from '../runner/runner.js';
import type { Store } from '../store/store.js';
import type { OptionSpec, ParsedArgs } from './args.js';
import type { CliIO } from './io.js';
import { packageNames } from './package-names.js';

export const RUNNER_OPTION: Record<string, OptionSpec> = {
  runner: { type: 'string', value: '<name>', description: 'where recipes run: podman (the env image, --arch, no network) or local (the host); default $WELD_RUNNER or podman' },
  mirrors: { type: 'string', value: '<dir>', description: 'where mirrors live (default: $WELD_MIRRORS, [paths] mirrors, ./mirrors)' },
};

/** Package names from the command line, normalised and checked; none means every package when `all`. */
export function packagesFromArgs(opts: { verb: string; args: ParsedArgs; metadata: Metadata; all: boolean }): Result<string[], WeldError> {
  const { metadata } = opts;
  if (opts.all) return ok([...metadata.packages.keys()].sort());
  return packageNames({ verb: opts.verb, typed: opts.args.positionals, metadata });
}

export function mirrorsFromArgs(opts: { args: ParsedArgs; io: CliIO; metadata: Metadata }): string {
  const flag = opts.args.options['mirrors'];
  return mirrorsDirFor({ metadata: opts.metadata, cwd: opts.io.cwd, env: opts.io.env, ...(typeof flag === 'string' ? { flag } : {}) });
}

/** --runner, then WELD_RUNNER, then podman: builds are for the distro's arch, in its env image. */
export function runnerName(args: ParsedArgs, env: NodeJS.ProcessEnv): string {
  const r = args.options['runner'];
  return typeof r === 'string' ? r : (env['WELD_RUNNER'] ?? 'podman');
}

/** The runner named by the arguments, made with the metadata and store it builds with (open them first). */
export async function runnerFromArgs(o: { args: ParsedArgs; io: CliIO; metadata: Metadata; store?: Store }): Promise<Result<Runner, UsageError>> {
  const { selectRunner } = await import('../runner/select.js');
  return selectRunner({ name: runnerName(o.args, o.io.env), context: { metadata: o.metadata, env: o.io.env, ...(o.store ? { store: o.store } : {}) } });
}

/** The flags that pick the same metadata, runner and store, for the `weld build` an error suggests. */
export function buildFlags(args: ParsedArgs): string[] {
  const out: string[] = [];
  for (const f of ['ref', 'metadata', 'runner', 'mirrors', 'store']) {
    const v = args.options[f];
    if (typeof v === 'string') out.push(`--${f} ${v}`);
  }
  return out;
}

/**
 * The metadata, for a verb that will make a runner: a runner name that does not exist is
 * refused first, so a typo costs no metadata load.
 */
export async function metadataForRunner(args: ParsedArgs, io: CliIO): Promise<Result<Metadata, WeldError>> {
  const { checkRunnerName } = await import('../runner/select.js');
  const name = checkRunnerName(runnerName(args, io.env));
  if (!name.ok) return name;
  const { openFromArgs } = await import('./metadata-args.js');
  return openFromArgs(args, io);
}
