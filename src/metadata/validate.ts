import { sortDiagnostics, type Diagnostic } from '../core/diagnostics.js';
import { MetadataInvalidError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import { crossCheck } from './cross-check.js';
import { checkComposeFile, type ComposeDraft } from './compose-file.js';
import { checkDistroFile, type DistroDraft } from './distro-file.js';
import { checkEnvFile, checkLockFile, type EnvDraft } from './env-file.js';
import type { Compose, Distro, Env, EnvLock, MetadataData, Package } from './model.js';
import { checkLock } from './lock-file.js';
import { checkPackageFile, type PackageDraft } from './package-file.js';
import type { Problem } from './schema.js';
import type { MetadataSource } from './source.js';
import { nameProblem } from './names.js';
import { packageEnvsIn } from './targets.js';
import { findDeepNesting } from './text.js';
import { parseToml, type TomlTable } from './toml.js';

const unsafeProblem = (why: string): Problem => ({ path: [], anchor: 'table', message: `${why}; weld reads only files inside the metadata: replace the link with a copy of the file, or move the file in` });

/** A file being checked: its text (for locating problems) and what was found wrong in it. */
export interface FileState {
  file: string;
  text?: string;
  problems: Problem[];
  /** set when the file is not TOML; its position is already known */
  syntax?: Diagnostic;
}

export interface Drafts {
  metaDir: string;
  distro: DistroDraft;
  packages: PackageDraft[];
  /** every package file's name without .toml, parsable or not: what `requires` may name */
  packageStems: string[];
  envs: EnvDraft[];
  locks: Map<string, EnvLock>;
  composes: ComposeDraft[];
  recipes: string[];
  /** patch files by the package directory they sit in */
  patchDirs: Map<string, string[]>;
  files: Map<string, FileState>;
}

/**
 * Reads and validates every metadata file, collecting all problems of all files in
 * one pass. Succeeds only when there is no error at all.
 */
export async function validateMetadata(opts: { source: MetadataSource; metaDir?: string }): Promise<Result<MetadataData, MetadataInvalidError>> {
  const { source } = opts;
  const metaDir = opts.metaDir ?? 'metadata';
  const files = new Map<string, FileState>();
  const state = (file: string): FileState => {
    let s = files.get(file);
    if (!s) files.set(file, (s = { file, problems: [] }));
    return s;
  };
  const readToml = async (file: string): Promise<TomlTable | undefined> => {
    const s = state(file);
    const text = await source.readUtf8(file);
    if (text === undefined) return undefined;
    if (typeof text !== 'string') {
      s.syntax = { file: source.display(file), ...text.invalid.position, severity: 'error', message: text.invalid.message };
      return undefined;
    }
    const limit = sizeLimit(file);
    if (text.length > limit) {
      // A hostile repository's 10 MB key took @iarna/toml seconds of garbage collection.
      s.syntax = { file: source.display(file), line: 1, col: 1, severity: 'error', message: `this file is ${mib(text.length)}; ${file.endsWith('weld.lock') ? 'weld.lock' : file.endsWith('.lock.toml') ? 'an env lock' : 'a metadata file'} over ${mib(limit)} is refused (is it the file you meant?)` };
      return undefined;
    }
    s.text = text;
    // before any parser: both recurse per level and overflow the stack on deep nesting
    const deep = findDeepNesting(text);
    if (deep) {
      s.syntax = { file: source.display(file), ...deep.position, severity: 'error', message: deep.message };
      return undefined;
    }
    const parsed = parseToml(text);
    if (parsed.ok) return parsed.doc;
    s.syntax = { file: source.display(file), ...parsed.position, severity: 'error', message: `invalid TOML: ${parsed.message}` };
    return undefined;
  };
  /** `*.toml` files of a directory; anything else there is reported, since it would be silently ignored. */
  const tomlFiles = async (dir: string, what: string): Promise<string[]> => {
    const names: string[] = [];
    for (const e of await source.list(dir)) {
      if (e.type === 'unsafe') state(`${dir}/${e.name}`).problems.push(unsafeProblem(e.why));
      else if (e.type === 'file' && e.name.endsWith('.toml')) names.push(e.name);
      else state(`${dir}/${e.name}`).problems.push({ path: [], anchor: 'table', message: `unexpected ${e.type === 'dir' ? 'directory' : 'file'} in ${dir}/: ${what} are *.toml files; move or rename it` });
    }
    return names;
  };

  const distroFile = `${metaDir}/weld.toml`;
  const [distroDoc, pkgNames, envNames, composeNames, recipeEntries, patchEntries] = await Promise.all([
    readToml(distroFile),
    tomlFiles(`${metaDir}/packages`, 'package files'),
    tomlFiles(`${metaDir}/envs`, 'env files'),
    tomlFiles(`${metaDir}/composes`, 'compose files'),
    source.list('recipes'),
    source.list(`${metaDir}/patches`),
  ]);
  if (!distroDoc && !state(distroFile).syntax) {
    state(distroFile).problems.push({ path: [], anchor: 'table', message: `${distroFile} is missing; every distro needs one with a [distro] table` });
  }
  const lockFile = `${metaDir}/weld.lock`;
  const lockDoc = await readToml(lockFile);
  const lock = lockDoc ? checkLock(lockDoc, state(lockFile).problems) : {};
  const distro = distroDoc ? checkDistroFile({ file: distroFile, doc: distroDoc, problems: state(distroFile).problems }) : { file: distroFile, targetDrafts: [] };

  /** Parses each `*.toml` of a directory and checks it; unparsable files yield nothing. */
  const checkEach = async <T>(dir: string, names: string[], check: (file: string, stem: string, doc: TomlTable, problems: Problem[]) => T): Promise<T[]> => {
    const out = await Promise.all(
      names.map(async (n) => {
        const file = `${metaDir}/${dir}/${n}`;
        const what = dir === 'envs' ? 'env' : dir === 'composes' ? 'compose' : undefined;
        const stem = n.slice(0, -(dir === 'envs' && n.endsWith('.lock.toml') ? '.lock.toml' : '.toml').length);
        const badName = what && nameProblem({ name: stem, what });
        if (badName) {
          // a name that is not one would become a "." env or a bad image tag: nothing else is read from it
          state(file).problems.push({ path: [], anchor: 'table', message: `${badName}; rename the file (its name is the ${what}'s name)` });
          return undefined;
        }
        const doc = await readToml(file);
        return doc ? check(file, n.slice(0, -'.toml'.length), doc, state(file).problems) : undefined;
      }),
    );
    return out.filter((x): x is Awaited<T> => x !== undefined) as T[];
  };

  const packages = await checkEach('packages', pkgNames, (file, stem, doc, problems) => checkPackageFile({ file, stem, doc, problems }));
  // By name, not file name: "a-b.toml" sorts before "a.toml" but "a" before "a-b".
  const byName = <T extends { name: string }>(xs: T[]) => xs.sort((a, b) => (a.name < b.name ? -1 : 1));
  const envs = byName(await checkEach('envs', envNames.filter((n) => !n.endsWith('.lock.toml')), (file, name, doc, problems) => checkEnvFile({ file, name, doc, problems })));
  const locks = new Map<string, EnvLock>(
    await checkEach('envs', envNames.filter((n) => n.endsWith('.lock.toml')), (file, stem, doc, problems) => [stem.slice(0, -'.lock'.length), checkLockFile({ file, doc, problems })] as const),
  );
  const composes = byName(await checkEach('composes', composeNames, (file, name, doc, problems) => checkComposeFile({ file, name, doc, problems })));

  const patchDirs = new Map<string, string[]>();
  for (const e of patchEntries) {
    const dir = `${metaDir}/patches/${e.name}`;
    if (e.type === 'unsafe') {
      state(dir).problems.push(unsafeProblem(e.why));
      continue;
    }
    const badName = nameProblem({ name: e.name, what: 'patch directory' });
    if (badName) {
      state(dir).problems.push({ path: [], anchor: 'table', message: `${badName}; rename the directory after its package` });
      continue;
    }
    if (e.type !== 'dir') {
      state(dir).problems.push({ path: [], anchor: 'table', message: `unexpected file in ${metaDir}/patches/: patches go in ${metaDir}/patches/<package>/<name>.patch` });
      continue;
    }
    const entries = await source.list(dir);
    for (const f of entries) if (f.type === 'unsafe') state(`${dir}/${f.name}`).problems.push(unsafeProblem(f.why));
    patchDirs.set(e.name, entries.filter((f) => f.type !== 'unsafe').map((f) => `${dir}/${f.name}`));
  }
  const recipes = recipeEntries.filter((e) => e.type === 'file' && e.name.endsWith('.sh')).map((e) => e.name.slice(0, -3));

  const packageStems = pkgNames.map((n) => n.slice(0, -'.toml'.length));
  const drafts: Drafts = { metaDir, distro, packages, packageStems, envs, locks, composes, recipes, patchDirs, files };
  const targets = await crossCheck({ drafts, source, state });

  const diagnostics = await toDiagnostics(files, source);
  if (diagnostics.some((d) => d.severity === 'error')) return err(new MetadataInvalidError(diagnostics));

  // No errors: every draft is complete. Packages and composes are resolved against their
  // first target here; a target view (targets.ts) resolves them against the others.
  const { targetDrafts, ...distroRest } = distro;
  const first = targets.targets[0]!;
  const resolvedDistro: Distro = {
    ...(distroRest as Omit<Distro, 'targets'>),
    arch: first.arch,
    defaultEnv: first.env,
    ...(first.runtimeEnvSet ? { runtimeEnv: first.runtimeEnv! } : {}),
    targets: targets.targets,
    ...(targetDrafts.length === 0 ? { implicitTarget: true } : {}),
  };
  return ok({
    distro: resolvedDistro,
    packages: byName(packages)
      .map((p) => {
        const mine = targets.packageTargets.get(p.name)!;
        const given = { ...(p.env ? { env: p.env } : {}), ...(p.test.env ? { testEnv: p.test.env } : {}) };
        const target = targets.targets.find((t) => t.name === mine[0]) ?? first;
        // crossCheck made sure a wheel with a test has an env to run it in
        const { env, testEnv } = packageEnvsIn({ target, envs, given });
        return { ...(p as Omit<Package, 'test' | 'patches' | 'targets' | 'given'>), env, test: { ...p.test, env: testEnv ?? '' }, targets: mine, given, patches: (patchDirs.get(p.name) ?? []).sort() };
      }),
    envs: envs.map((e) => ({ ...(e as Env), ...(locks.has(e.name) ? { lock: locks.get(e.name)! } : {}) })),
    composes: composes.map((c) => {
      const mine = targets.composeTargets.get(c.name)!;
      const { targets: _written, ...rest } = c;
      const target = targets.targets.find((t) => t.name === mine[0]) ?? first;
      const env = c.kind === 'image' ? (c.env ?? target.runtimeEnv) : undefined;
      return { ...(rest as Omit<Compose, 'targets' | 'env'>), ...(env ? { env } : {}), ...(c.env ? { givenEnv: c.env } : {}), targets: mine };
    }),
    recipes,
    lock,
  });
}

async function toDiagnostics(files: Map<string, FileState>, source: MetadataSource): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  const withProblems = [...files.values()].filter((f) => f.problems.length || f.syntax);
  if (withProblems.length === 0) return out;
  const { Locator } = await import('./locate.js');
  const locators = new Map<string, InstanceType<typeof Locator>>();
  const locate = (file: string, p: Pick<Problem, 'path' | 'anchor'>) => {
    const text = files.get(file)?.text;
    if (text === undefined) return { line: 1, col: 1 };
    let l = locators.get(file);
    if (!l) locators.set(file, (l = new Locator(text)));
    return l.find(p.path, p.anchor);
  };
  for (const f of withProblems) {
    if (f.syntax) out.push(f.syntax);
    for (const p of f.problems) {
      out.push({
        file: source.display(f.file),
        ...locate(f.file, p),
        severity: 'error',
        message: p.message,
        ...(p.related ? { notes: p.related.map((r) => ({ file: source.display(r.file), ...locate(r.file, r), message: r.message })) } : {}),
      });
    }
  }
  return sortDiagnostics(out);
}

/**
 * The largest text a metadata file may have, in characters: package, env and compose
 * files are a few KiB; an env lock of 2,000 debs is about 500 KiB; weld.lock of 10,000
 * packages about 2.5 MiB.
 */
function sizeLimit(file: string): number {
  if (file.endsWith('/weld.lock')) return 64 * 1024 * 1024;
  if (file.endsWith('.lock.toml')) return 8 * 1024 * 1024;
  return 1024 * 1024;
}

function mib(n: number): string {
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}
