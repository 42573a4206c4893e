import { WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import type { Compose, ComposeKind, Metadata } from '../metadata/model.js';
import type { Runner } from '../runner/runner.js';
import type { BuildRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { closest } from '../util/suggest.js';
import { currentBuilds } from '../build/current.js';

export class ComposeNotFoundError extends WeldError {
  readonly code = 'E_COMPOSE_NOT_FOUND';
}

export class ComposeKindError extends WeldError {
  readonly code = 'E_COMPOSE_KIND';
}

/** Some packages of a compose have no build matching the metadata now; every one is listed. */
export class MissingBuildsError extends WeldError {
  readonly code = 'E_COMPOSE_NOT_BUILT';
  constructor(
    readonly compose: string,
    readonly missing: Array<{ package: string; reason: string }>,
    /** the command line that builds them */
    readonly command: string,
  ) {
    super(
      `compose "${compose}": ${missing.length === 1 ? 'a package has' : `${missing.length} packages have`} no build for the current metadata:\n` +
        missing.map((m) => `  ${m.package}: ${m.reason}`).join('\n'),
      `build them with \`${command}\`, or compose with --build`,
    );
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), missing: this.missing, command: this.command };
  }
}

/**
 * The compose named `name` of the given kind. `default` needs no file: without
 * metadata/composes/default.toml it means every wheel package.
 */
export function findCompose(opts: { metadata: Metadata; name: string; kind: ComposeKind }): Result<Compose, ComposeNotFoundError | ComposeKindError> {
  const { metadata, name, kind } = opts;
  const found = metadata.composes.get(name);
  if (!found) {
    if (name === 'default' && kind === 'wheelhouse') return ok({ name, kind, packages: [], file: '' });
    const known = [...metadata.composes.keys()].sort();
    const guess = closest(name, known);
    return err(
      new ComposeNotFoundError(
        `no compose named "${name}"${guess ? `; did you mean "${guess}"?` : ''}`,
        known.length ? `composes: ${known.join(', ')} (metadata/composes/<name>.toml)` : `add ${metadata.metaDir}/composes/${name}.toml with [compose] kind = "${kind}"`,
      ),
    );
  }
  if (found.kind !== kind) return err(new ComposeKindError(`compose "${name}" is an ${found.kind} compose (${found.file}), not a ${kind}`, `run \`weld compose ${found.kind} ${name}\``));
  return ok(found);
}

/**
 * The packages a compose hands out: the ones it names (default: every wheel package) and
 * everything they need at run time, transitively; sorted. Packs come along when a wheel
 * needs one at run time; a wheelhouse keeps only the wheels (see `wheelsOnly`).
 */
export function composePackages(opts: { metadata: Metadata; compose: Compose }): string[] {
  const { metadata, compose } = opts;
  const start = compose.packages.length ? compose.packages : [...metadata.packages.values()].filter((p) => p.kind === 'wheel').map((p) => p.name);
  const seen = new Set<string>();
  const todo = [...start];
  while (todo.length) {
    const name = todo.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    todo.push(...(metadata.packages.get(name)?.runtimeRequires ?? []));
  }
  return [...seen].sort();
}

export function wheelsOnly(metadata: Metadata, packages: string[]): string[] {
  return packages.filter((p) => metadata.packages.get(p)?.kind === 'wheel');
}

/**
 * Each package's build record for the metadata as it is now, or one error naming every
 * package without one and the `weld build` that makes them.
 */
export async function selectBuilds(opts: {
  metadata: Metadata;
  store: Store;
  runner: Runner;
  mirrorsDir: string;
  compose: string;
  packages: string[];
  /** how the build command is spelled in the error, e.g. with --ref */
  buildFlags?: string[];
}): Promise<Result<Map<string, BuildRecord>, WeldError>> {
  const current = await currentBuilds({ metadata: opts.metadata, store: opts.store, runner: opts.runner, mirrorsDir: opts.mirrorsDir, packages: opts.packages });
  if (!current.ok) return current;
  const builds = new Map<string, BuildRecord>();
  const missing: Array<{ package: string; reason: string }> = [];
  for (const pkg of opts.packages) {
    const c = current.value.get(pkg)!;
    if (c.state === 'built') builds.set(pkg, c.record);
    else missing.push({ package: pkg, reason: c.reason });
  }
  if (missing.length) {
    const command = ['weld build', ...(opts.buildFlags ?? []), ...missing.map((m) => m.package)].join(' ');
    return err(new MissingBuildsError(opts.compose, missing, command));
  }
  return ok(builds);
}
