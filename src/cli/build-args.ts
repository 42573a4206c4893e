import { UsageError, type WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import { backendsFilePath, parseLabel, readBackendsFile } from '../runner/backends/config.js';
import type { BackendPool } from '../runner/backends/pool.js';
import { withSelector } from '../runner/backends/selector.js';
import type { Metadata, Target } from '../metadata/model.js';
import { pickTargets } from '../metadata/targets.js';
import { closest } from '../util/suggest.js';
import { mirrorsDirFor } from '../mirror/mirror.js';
import type { Runner } from '../runner/runner.js';
import type { RemoteSettings } from '../store/remote/config.js';
import type { Store } from '../store/store.js';
import type { EnvEvent } from '../envs/events.js';
import { formatBytes, plural } from './format.js';
import type { OptionSpec, ParsedArgs } from './args.js';
import type { CliIO } from './io.js';
import { packageNames } from './package-names.js';

export const RUNNER_OPTION: Record<string, OptionSpec> = {
  runner: { type: 'string', value: '<name>', description: 'where recipes run: podman (the env image, --arch, no network) or local (the host); default $WELD_RUNNER or podman' },
  mirrors: { type: 'string', value: '<dir>', description: 'where mirrors live (default: $WELD_MIRRORS, [paths] mirrors, ./mirrors)' },
  backends: { type: 'string', value: '<file>', description: 'the build backends file (default: $WELD_BACKENDS, else $XDG_CONFIG_HOME/weld/backends.toml); with backends in it, podman builds run on them' },
  'backend-selector': { type: 'string', multiple: true, value: '<key=value>', description: 'build only on backends with this label (repeatable; every one must match)' },
};

export const TARGET_OPTION: Record<string, OptionSpec> = {
  target: { type: 'string', multiple: true, value: '<name>', description: 'only this target ([[target]] in weld.toml; repeatable); default: every target' },
};

/** `--target`…: the targets to work on, checked against weld.toml; every target when none is given. */
export function targetsFromArgs(args: ParsedArgs, metadata: Metadata, verb: string): Result<Target[], UsageError> {
  const raw = args.options['target'];
  const names = Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : [];
  const picked = pickTargets(metadata, names);
  if (picked.ok) return ok(picked.targets);
  const known = metadata.distro.targets.map((t) => t.name);
  const guess = closest(picked.unknown[0]!, known);
  return err(new UsageError(`weld ${verb}: no target ${picked.unknown.map((n) => `"${n}"`).join(', ')}${guess ? `; did you mean "${guess}"?` : ''}`, `targets: ${known.join(', ')} ([[target]] in weld.toml)`));
}

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

/** `--backend-selector k=v`…, checked. */
export function selectorFromArgs(args: ParsedArgs): Result<Record<string, string>, UsageError> {
  const raw = args.options['backend-selector'];
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : [];
  const out: Record<string, string> = {};
  for (const item of list) {
    const pair = parseLabel(item);
    if (!pair.ok) return err(new UsageError(`--backend-selector ${pair.error}`, 'write it as key=value, e.g. --backend-selector size=big'));
    const [k, v] = pair.value;
    if (out[k] !== undefined && out[k] !== v) return err(new UsageError(`--backend-selector asks for ${k}=${out[k]} and ${k}=${v}; a backend has one value per label`));
    out[k] = v;
  }
  return ok(out);
}

/** The runner named by the arguments, made with the metadata and store it builds with (open them first). */
export async function runnerFromArgs(o: { args: ParsedArgs; io: CliIO; metadata: Metadata; store?: Store; registry?: RemoteSettings }): Promise<Result<Runner, WeldError>> {
  const { selectRunner } = await import('../runner/select.js');
  const name = runnerName(o.args, o.io.env);
  const selector = selectorFromArgs(o.args);
  if (!selector.ok) return selector;
  let pool: BackendPool | undefined;
  if (name === 'podman') {
    const flag = o.args.options['backends'];
    const file = backendsFilePath({ env: o.io.env, cwd: o.io.cwd, ...(typeof flag === 'string' ? { flag } : {}) });
    const backends = readBackendsFile(file);
    if (!backends.ok) return backends;
    if (backends.value.length) pool = new (await import('../runner/backends/pool.js')).BackendPool({ backends: backends.value });
    else if (Object.keys(selector.value).length) return err(new UsageError(`--backend-selector picks among build backends, and ${file} configures none`, 'add backends with `weld backends add`, or drop --backend-selector to build on this host'));
  } else if (Object.keys(selector.value).length) return err(new UsageError(`--backend-selector picks among podman build backends; the ${name} runner has none`));
  // an env image taken from the store remote is said once, before the builds' lines
  const json = o.args.options['json'] === true;
  const onEnvEvent = (e: EnvEvent) => {
    if (e.type !== 'substituted') return;
    const d = e.data;
    o.io.stdout.write(json ? `${JSON.stringify(e)}\n` : `${e.subject.name}: env image ${d.manifest} substituted from ${d.remote} (signed by ${d.keyId}; ${plural(d.blobs, 'blob')}, ${formatBytes(d.bytes)})\n`);
  };
  const runner = await selectRunner({ name, context: { metadata: o.metadata, env: o.io.env, ...(o.store ? { store: o.store } : {}), ...(pool ? { pool } : {}), ...(o.registry ? { registry: o.registry, onEnvEvent } : {}) } });
  if (!runner.ok) return runner;
  return ok(withSelector(runner.value, selector.value));
}

/** The flags that pick the same metadata, runner and store, for the `weld build` an error suggests. */
export function buildFlags(args: ParsedArgs): string[] {
  const out: string[] = [];
  for (const f of ['ref', 'metadata', 'runner', 'mirrors', 'store', 'backends']) {
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
