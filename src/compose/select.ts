import { UsageError, type WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import type { Compose, ComposeKind, Metadata } from '../metadata/model.js';
import type { BuildRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { closest } from '../util/suggest.js';
import type { BuildSession } from '../session/session.js';
import { ComposeKindError, ComposeNotFoundError, ComposePackagesError, MissingBuildsError, TestsFailedError } from './errors.js';

// What both kinds of compose do before they differ: find the compose, work out its
// packages, and take each one's build for the metadata as it is now.

/**
 * The compose named `name` of the given kind. `default` needs no file: without
 * metadata/composes/default.toml it means every wheel package. With no name, a wheelhouse
 * is `default` and an image is the metadata's only image compose.
 */
export function findCompose(opts: { metadata: Metadata; name: string | undefined; kind: ComposeKind }): Result<Compose, ComposeNotFoundError | ComposeKindError | UsageError> {
  const { metadata, kind } = opts;
  const named = opts.name !== undefined ? ok(opts.name) : defaultName(metadata, kind);
  if (!named.ok) return named;
  const name = named.value;
  const found = metadata.composes.get(name);
  if (!found) {
    if (name === 'default' && kind === 'wheelhouse') return ok({ name, kind, packages: [], targets: metadata.distro.targets.map((t) => t.name), file: '' });
    const known = [...metadata.composes.keys()].sort();
    const guess = closest(name, known);
    return err(
      new ComposeNotFoundError(
        `no compose named "${name}"${guess ? `; did you mean "${guess}"?` : ''}`,
        known.length ? `composes: ${known.join(', ')} (metadata/composes/<name>.toml)` : `add ${metadata.metaDir}/composes/${name}.toml with [compose] kind = "${kind}"`,
      ),
    );
  }
  if (found.kind !== kind) return err(new ComposeKindError(`compose "${name}" is ${an(found.kind)}, not ${an(kind)} (${found.file})`, `run \`weld compose ${found.kind} ${name}\``));
  return ok(found);
}

const an = (kind: ComposeKind) => (kind === 'image' ? 'an image' : `a ${kind}`);

function defaultName(metadata: Metadata, kind: ComposeKind): Result<string, UsageError> {
  if (kind === 'wheelhouse') return ok('default');
  const names = [...metadata.composes.values()].filter((c) => c.kind === kind).map((c) => c.name).sort();
  if (names.length === 1) return ok(names[0]!);
  if (names.length) return err(new UsageError(`weld compose ${kind}: name the compose: ${names.join(', ')}`, `usage: weld compose ${kind} <name>`));
  return err(new UsageError(`weld compose ${kind}: the metadata has no ${kind} compose`, `add ${metadata.metaDir}/composes/<name>.toml with kind = "${kind}"`));
}

/**
 * The packages a compose hands out: the ones it names (default: every wheel package) and
 * everything they need at run time (`[runtime] requires`), transitively; sorted, with the
 * ones pulled in that way. A package the metadata does not have is an error naming who
 * needs it. So is a pack in an image (it installs wheels only); a wheelhouse leaves packs
 * out. (Validated metadata has neither: this guards metadata made some other way.)
 */
export function composePackages(opts: { metadata: Metadata; compose: Compose }): Result<{ packages: string[]; pulledIn: string[] }, ComposePackagesError> {
  const { metadata, compose } = opts;
  const listed = compose.packages.length ? compose.packages : [...metadata.packages.values()].filter((p) => p.kind === 'wheel').map((p) => p.name);
  const seen = new Set<string>();
  const packages: string[] = [];
  const problems: string[] = [];
  const visit = (name: string, neededBy?: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const why = neededBy ? ` (${neededBy} needs it at run time)` : '';
    const pkg = metadata.packages.get(name);
    if (!pkg) return void problems.push(`${name}: no such package${why}`);
    if (pkg.kind === 'wheel') packages.push(name);
    else if (compose.kind === 'image') problems.push(`${name}: a ${pkg.kind}, not a wheel${why}; images are made of wheels`);
    for (const r of pkg.runtimeRequires) visit(r, name);
  };
  for (const name of listed) visit(name);
  if (problems.length) {
    const file = compose.file || `${metadata.metaDir}/composes/${compose.name}.toml`;
    const only = compose.kind === 'image' ? 'an image holds wheel packages only: ' : '';
    return err(new ComposePackagesError(compose.name, compose.file, problems, `${only}fix packages = […] of ${file} or the packages' [runtime] requires`));
  }
  packages.sort();
  return ok({ packages, pulledIn: packages.filter((n) => !listed.includes(n)) });
}

/** Where a compose finds the builds matching the metadata now. */
export interface BuildsSource {
  metadata: Metadata;
  store: Store;
  /** the build session (its runner decides the env images in the cache keys) whose current builds are composed */
  session: BuildSession;
  /** how `weld build` is spelled in a missing-builds error, e.g. with --ref */
  buildFlags?: string[];
  /** told which wheels go in untested (built with --no-test, or the test changed since) */
  onWarning?: (message: string) => void;
}

/**
 * Each package's build record for the metadata as it is now, or one error naming every
 * package without one and the `weld build` that makes them.
 */
export async function selectBuilds(
  opts: BuildsSource & {
    compose: string;
    packages: string[];
    /** whether the compose verb has --build, for the error's hint */
    offerBuild?: boolean;
  },
): Promise<Result<Map<string, BuildRecord>, WeldError>> {
  const current = await opts.session.currentBuilds(opts.packages);
  if (!current.ok) return current;
  const builds = new Map<string, BuildRecord>();
  const missing: Array<{ package: string; reason: string }> = [];
  for (const pkg of opts.packages) {
    const c = current.value.get(pkg)!;
    if (c.state === 'built') builds.set(pkg, c.record);
    else missing.push({ package: pkg, reason: c.reason });
  }
  if (missing.length) return err(new MissingBuildsError(opts.compose, missing, opts.buildFlags, opts.offerBuild));
  // A wheel that failed its test is handed to no compose (DESIGN.md "Tested on its arch").
  const tests = await opts.session.currentTests(opts.packages);
  if (!tests.ok) return tests;
  const failed: Array<{ package: string; reason: string }> = [];
  const untested: string[] = [];
  for (const [pkg, t] of tests.value) {
    if (t.state === 'failed') failed.push({ package: pkg, reason: t.record.failure ?? 'its test failed' });
    else if (t.state === 'untested') untested.push(pkg);
  }
  if (failed.length) return err(new TestsFailedError(opts.compose, failed));
  if (untested.length) opts.onWarning?.(`compose "${opts.compose}": ${untested.length === 1 ? 'this wheel goes in untested' : 'these wheels go in untested'}: ${untested.join(', ')} (\`weld test ${untested.join(' ')}\` tests ${untested.length === 1 ? 'it' : 'them'})`);
  return ok(builds);
}
