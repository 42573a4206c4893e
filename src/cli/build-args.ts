import type { UsageError, WeldError } from '../core/errors.js';
import { ok, type Result } from '../core/result.js';
import type { Metadata } from '../metadata/model.js';
import { mirrorsDirFor } from '../mirror/mirror.js';
import type { Runner } from '../runner/runner.js';
import type { RunnerContext } from '../runner/select.js';
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

/**
 * The runner named by the arguments, and `attach` to give it the metadata and store
 * once they are open (runners read them on first use, not before).
 */
export async function runnerFromArgs(args: ParsedArgs, io: CliIO): Promise<Result<{ runner: Runner; attach: (ctx: RunnerContext) => void }, UsageError>> {
  const { selectRunner } = await import('../runner/select.js');
  let context: RunnerContext | undefined;
  const runner = await selectRunner({
    name: runnerName(args, io.env),
    context: () => {
      if (!context) throw new Error('bug: runner used before the metadata and store were opened');
      return context;
    },
  });
  if (!runner.ok) return runner;
  runner.value.warmUp?.();
  return ok({ runner: runner.value, attach: (ctx) => (context = ctx) });
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
 * The runner, then the metadata: what every verb that computes cache keys starts with.
 * The runner comes first so its slow probes overlap loading the metadata.
 */
export async function runnerAndMetadata(args: ParsedArgs, io: CliIO): Promise<Result<{ runner: Runner; attach: (ctx: RunnerContext) => void; metadata: Metadata }, WeldError>> {
  const picked = await runnerFromArgs(args, io);
  if (!picked.ok) return picked;
  const { openFromArgs } = await import('./metadata-args.js');
  const loaded = await openFromArgs(args, io);
  if (!loaded.ok) return loaded;
  return ok({ ...picked.value, metadata: loaded.value });
}
