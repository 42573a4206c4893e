import { quote } from '../core/diagnostics.js';
import { closest } from '../util/suggest.js';
import type { TestSpec, Package, PackageKind, Upstream } from './model.js';
import {
  isBuildVarName,
  isDebianSourceName,
  isFullCommitId,
  LABEL_KEY,
  LABEL_VALUE,
  isNativeVersion,
  isPep440Version,
  isSha256Hex,
  isValidProjectName,
  normalizeName,
  upstreamRefProblem,
  versionRefProblem,
} from './names.js';
import { repairPolicyProblem } from './repair-policy.js';
import { checkShape, type FileSpec, type Problem } from './schema.js';
import type { TomlTable } from './toml.js';

export const PACKAGE_SPEC: FileSpec = {
  package: {
    required: true,
    hint: 'every package file starts with [package], holding at least name and version',
    fields: {
      name: { kind: 'string', required: true, example: 'name = "pyyaml"' },
      version: { kind: 'string', required: true, example: 'version = "6.0"' },
      release: { kind: 'integer', example: 'release = 1' },
      kind: { kind: 'string', example: 'kind = "wheel"' },
      summary: { kind: 'string', example: 'summary = "YAML parser and emitter"' },
      license: { kind: 'string', example: 'license = "MIT"' },
      homepage: { kind: 'string', example: 'homepage = "https://pyyaml.org/"' },
    },
  },
  upstream: {
    required: true,
    hint: 'add [upstream] with exactly one of git (+ tag or commit), tarball (+ sha256) or debian',
    fields: {
      git: { kind: 'string', example: 'git = "https://github.com/yaml/pyyaml.git"' },
      tag: { kind: 'string', example: 'tag = "6.0"' },
      commit: { kind: 'string', example: 'commit = "<40 hex digits>"' },
      branch: { kind: 'string', example: 'branch = "main"' },
      tarball: { kind: 'string', example: 'tarball = "https://example.org/pyyaml-6.0.tar.gz"' },
      sha256: { kind: 'string', example: 'sha256 = "<64 hex digits>"' },
      debian: { kind: 'string', example: 'debian = "pyyaml"' },
      debian_patches: { kind: 'boolean', example: 'debian_patches = true' },
      suite: { kind: 'string', example: 'suite = "trixie"' },
    },
  },
  build: {
    required: true,
    hint: 'add [build] with at least recipe = "python-wheel" (or another recipe in recipes/)',
    fields: {
      recipe: { kind: 'string', required: true, example: 'recipe = "python-wheel"' },
      env: { kind: 'string', example: 'env = "bookworm-s390x"' },
      requires: { kind: 'string-array', example: 'requires = ["libyaml"]' },
      vars: { kind: 'string-table', example: 'vars = { PYYAML_FORCE_CYTHON = "0" }' },
      repair: { kind: 'string', example: 'repair = "manylinux"' },
      labels: { kind: 'string-table', example: 'labels = { size = "big" }' },
      targets: { kind: 'string-array', example: 'targets = ["s390x-py311"]' },
    },
  },
  runtime: {
    fields: {
      requires: { kind: 'string-array', example: 'requires = ["markupsafe"]' },
    },
  },
  test: {
    fields: {
      imports: { kind: 'string-array', example: 'imports = ["yaml"]' },
      commands: { kind: 'string-array', example: 'commands = ["python3 -m pytest -q $WELD_SRC/tests"]' },
      requires: { kind: 'string-array', example: 'requires = ["pytest"]' },
      env: { kind: 'string', example: 'env = "bookworm-s390x-runtime"' },
    },
  },
};

const KINDS: PackageKind[] = ['wheel', 'pack'];
const UPSTREAM_KINDS = ['git', 'tarball', 'debian'] as const;
/** keys that belong to one upstream kind only */
const UPSTREAM_KEYS: Record<string, (typeof UPSTREAM_KINDS)[number]> = {
  tag: 'git',
  commit: 'git',
  branch: 'git',
  sha256: 'tarball',
  debian_patches: 'debian',
  suite: 'debian',
};
/** set by weld for every recipe (DESIGN.md, recipe contract); a build var may not override them */
const RESERVED_VARS = /^(WELD_.*|SOURCE_DATE_EPOCH|PATH|HOME)$/;
const MODULE_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * A package as far as its own file can tell, with whatever was valid; cross-file
 * checks run on it even when the file had errors, so one run reports everything.
 */
export type PackageDraft = Partial<Omit<Package, 'patches' | 'test'>> &
  Pick<Package, 'name' | 'file' | 'requires' | 'runtimeRequires'> & {
    /** the env is resolved later, against the distro's runtime env (validate.ts) */
    test: Omit<TestSpec, 'env'> & { env?: string };
  };

function isUrl(s: string, protocols: string[]): boolean {
  try {
    return protocols.includes(new URL(s).protocol);
  } catch {
    return false;
  }
}

/** git upstreams may also be local paths (DESIGN.md: smart HTTP(S) and local paths). */
function isGitLocation(s: string): boolean {
  return isUrl(s, ['http:', 'https:', 'file:']) || s.startsWith('/') || s.startsWith('./') || s.startsWith('../');
}

function checkUpstream(u: TomlTable, problems: Problem[]): Upstream | undefined {
  const present = UPSTREAM_KINDS.filter((k) => typeof u[k] === 'string');
  if (present.length === 0) {
    if (!UPSTREAM_KINDS.some((k) => k in u)) {
      problems.push({
        path: ['upstream'],
        anchor: 'table',
        message: '[upstream] needs exactly one of git, tarball or debian; found none',
      });
    }
    return undefined;
  }
  if (present.length > 1) {
    problems.push({
      path: ['upstream', present[1]!],
      anchor: 'key',
      message: `[upstream] has both ${present[0]} and ${present[1]}; keep exactly one of git, tarball or debian`,
    });
    return undefined;
  }
  const kind = present[0]!;
  let good = true;
  for (const [key, owner] of Object.entries(UPSTREAM_KEYS)) {
    if (key in u && owner !== kind) {
      problems.push({ path: ['upstream', key], anchor: 'key', message: `${quote(key)} only applies to a ${owner} upstream, and this one is ${kind}; remove it` });
      good = false;
    }
  }
  const str = (k: string): string | undefined => (typeof u[k] === 'string' ? (u[k] as string) : undefined);
  if (kind === 'git') {
    const url = str('git')!;
    const tag = str('tag');
    const commit = str('commit');
    if (!isGitLocation(url)) {
      problems.push({ path: ['upstream', 'git'], anchor: 'value', message: `git upstream ${quote(url)} is neither an http(s):// or file:// URL nor a local path` });
      good = false;
    }
    if (tag === undefined && commit === undefined && !('tag' in u) && !('commit' in u)) {
      problems.push({ path: ['upstream', 'git'], anchor: 'key', message: 'a git upstream must pin a "tag" or a "commit"; e.g. tag = "6.0"' });
      good = false;
    }
    if (tag !== undefined && tag.trim() === '') {
      problems.push({ path: ['upstream', 'tag'], anchor: 'value', message: 'tag must not be empty' });
      good = false;
    } else if (tag !== undefined && upstreamRefProblem({ name: tag, kind: 'tag' })) {
      problems.push({ path: ['upstream', 'tag'], anchor: 'value', message: upstreamRefProblem({ name: tag, kind: 'tag' })! });
      good = false;
    }
    if (commit !== undefined && !isFullCommitId(commit)) {
      problems.push({
        path: ['upstream', 'commit'],
        anchor: 'value',
        message: `commit ${quote(commit)} must be a full commit id (40 or 64 lowercase hex digits); abbreviated ids can become ambiguous`,
      });
      good = false;
    }
    const branch = str('branch');
    const branchProblem = branch !== undefined && upstreamRefProblem({ name: branch, kind: 'branch' });
    if (branchProblem) {
      problems.push({ path: ['upstream', 'branch'], anchor: 'value', message: branchProblem });
      good = false;
    }
    return good ? { kind, url, ...(tag !== undefined ? { tag } : {}), ...(commit !== undefined ? { commit } : {}), ...(branch !== undefined ? { branch } : {}) } : undefined;
  }
  if (kind === 'tarball') {
    const url = str('tarball')!;
    const sha256 = str('sha256');
    if (!isUrl(url, ['http:', 'https:', 'file:'])) {
      problems.push({ path: ['upstream', 'tarball'], anchor: 'value', message: `tarball ${quote(url)} must be an http://, https:// or file:// URL` });
      good = false;
    }
    if (sha256 === undefined) {
      if (!('sha256' in u)) problems.push({ path: ['upstream', 'tarball'], anchor: 'key', message: 'a tarball upstream needs its "sha256" (64 hex digits) so the download can be verified' });
      good = false;
    } else if (!isSha256Hex(sha256)) {
      problems.push({
        path: ['upstream', 'sha256'],
        anchor: 'value',
        message: `sha256 must be 64 lowercase hex digits; got ${sha256.length} character${sha256.length === 1 ? '' : 's'}${/[^0-9a-f]/.test(sha256) ? ` including ${quote(sha256.match(/[^0-9a-f]/)![0])}` : ''}`,
      });
      good = false;
    }
    return good && sha256 ? { kind, url, sha256 } : undefined;
  }
  const source = str('debian')!;
  if (!isDebianSourceName(source)) {
    problems.push({
      path: ['upstream', 'debian'],
      anchor: 'value',
      message: `${quote(source)} is not a Debian source package name: lowercase letters, digits, "+", "-" and "." only, at least two characters`,
    });
    good = false;
  }
  const suite = str('suite');
  if (suite !== undefined && !/^[a-z][a-z0-9-]*$/.test(suite)) {
    problems.push({ path: ['upstream', 'suite'], anchor: 'value', message: `suite ${quote(suite)} is not a Debian suite or codename (e.g. "bookworm", "trixie")` });
    good = false;
  }
  return good ? { kind, source, debianPatches: u['debian_patches'] === true, ...(suite !== undefined ? { suite } : {}) } : undefined;
}

function checkNameList(list: string[], path: Array<string | number>, what: string, problems: Problem[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  list.forEach((raw, i) => {
    if (!isValidProjectName(raw)) {
      problems.push({ path: [...path, i], anchor: 'value', message: `${quote(raw)} in ${what} is not a valid package name` });
      return;
    }
    const n = normalizeName(raw);
    if (seen.has(n)) {
      problems.push({ path: [...path, i], anchor: 'value', message: `${quote(raw)} is listed twice in ${what}` });
      return;
    }
    seen.add(n);
    out.push(n);
  });
  return out;
}

/** Validates one package file on its own. `stem` is the file name without `.toml`. */
export function checkPackageFile(opts: { file: string; stem: string; doc: TomlTable; problems: Problem[] }): PackageDraft {
  const { file, stem, doc, problems } = opts;
  const t = checkShape(doc, PACKAGE_SPEC, problems);
  const p = t['package']?.[0] ?? {};
  const u = t['upstream']?.[0];
  const b = t['build']?.[0] ?? {};
  const r = t['runtime']?.[0] ?? {};
  const tst = t['test']?.[0] ?? {};

  const displayName = typeof p['name'] === 'string' ? p['name'] : undefined;
  if (displayName !== undefined) {
    if (!isValidProjectName(displayName)) {
      problems.push({
        path: ['package', 'name'],
        anchor: 'value',
        message: `invalid package name ${quote(displayName)}: use letters, digits, ".", "_" and "-", starting and ending with a letter or digit (PEP 508)`,
      });
    } else if (normalizeName(displayName) !== stem) {
      problems.push({
        path: ['package', 'name'],
        anchor: 'value',
        message: `package name ${quote(displayName)} does not match its file name ${quote(`${stem}.toml`)}; name the file ${quote(`${normalizeName(displayName)}.toml`)}`,
      });
    }
  }
  const kind = (p['kind'] ?? 'wheel') as string;
  if (!KINDS.includes(kind as PackageKind)) {
    const guess = closest(kind, KINDS);
    problems.push({ path: ['package', 'kind'], anchor: 'value', message: `unknown package kind ${quote(kind)}; ${guess ? `did you mean ${quote(guess)}? ` : ''}valid kinds: ${KINDS.join(', ')}` });
  }
  const version = typeof p['version'] === 'string' ? p['version'] : undefined;
  if (version !== undefined) {
    if (kind === 'pack' ? !isNativeVersion(version) : !isPep440Version(version)) {
      problems.push({
        path: ['package', 'version'],
        anchor: 'value',
        message:
          kind === 'pack'
            ? `invalid version ${quote(version)}: start with a digit, then letters, digits, ".", "+", "~", "_" or "-"`
            : `invalid version ${quote(version)} for a wheel: expected a PEP 440 version such as "6.0", "2.1.2" or "1.0rc1"`,
      });
    } else if (versionRefProblem(version)) {
      problems.push({ path: ['package', 'version'], anchor: 'value', message: versionRefProblem(version)! });
    }
  }
  const release = p['release'] ?? 1;
  if (typeof release === 'number' && release < 1) {
    problems.push({ path: ['package', 'release'], anchor: 'value', message: `release must be 1 or more (it counts distro-only changes); got ${release}` });
  }
  if (typeof p['homepage'] === 'string' && !isUrl(p['homepage'], ['http:', 'https:'])) {
    problems.push({ path: ['package', 'homepage'], anchor: 'value', message: `homepage ${quote(p['homepage'])} must be an http:// or https:// URL` });
  }
  const upstream = u ? checkUpstream(u, problems) : undefined;

  const recipe = typeof b['recipe'] === 'string' ? b['recipe'] : undefined;
  const requires = checkNameList((b['requires'] as string[] | undefined) ?? [], ['build', 'requires'], '[build] requires', problems);
  const runtimeRequires = checkNameList((r['requires'] as string[] | undefined) ?? [], ['runtime', 'requires'], '[runtime] requires', problems);
  const vars = (b['vars'] as Record<string, string> | undefined) ?? {};
  for (const name of Object.keys(vars)) {
    if (!isBuildVarName(name)) {
      problems.push({ path: ['build', 'vars', name], anchor: 'key', message: `build var ${quote(name)} must be an environment variable name: A-Z, 0-9 and "_", not starting with a digit` });
    } else if (RESERVED_VARS.test(name)) {
      problems.push({ path: ['build', 'vars', name], anchor: 'key', message: `build var ${quote(name)} is set by weld for every recipe and cannot be overridden` });
    }
  }
  const labels = (b['labels'] as Record<string, string> | undefined) ?? {};
  let labelsOk = true;
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY.test(k)) {
      labelsOk = false;
      problems.push({ path: ['build', 'labels', k], anchor: 'key', message: `label ${quote(k)} must be 1-63 of a-z, 0-9, ".", "_", "-", "/", starting and ending with a letter or digit` });
    } else if (typeof v === 'string' && !LABEL_VALUE.test(v)) {
      labelsOk = false;
      problems.push({ path: ['build', 'labels', k], anchor: 'value', message: `label ${k}'s value ${quote(v)} must be 1-63 of A-Z, a-z, 0-9, ".", "_", "-", starting and ending with a letter or digit` });
    }
  }
  const imports = (tst['imports'] as string[] | undefined) ?? [];
  imports.forEach((m, i) => {
    if (!MODULE_PATH.test(m)) problems.push({ path: ['test', 'imports', i], anchor: 'value', message: `${quote(m)} is not a Python module path (e.g. "yaml" or "jinja2.ext")` });
  });
  const commands = (tst['commands'] as string[] | undefined) ?? [];
  commands.forEach((c, i) => {
    if (c.trim() === '') problems.push({ path: ['test', 'commands', i], anchor: 'value', message: 'a test command must not be empty; remove it or write the shell command to run' });
    else if (/[\x00-\x08\x0b-\x1f\x7f]/.test(c)) problems.push({ path: ['test', 'commands', i], anchor: 'value', message: 'a test command must not contain control characters other than tab and newline' });
  });
  const testRequires = checkNameList((tst['requires'] as string[] | undefined) ?? [], ['test', 'requires'], '[test] requires', problems);
  const repair = typeof b['repair'] === 'string' ? b['repair'] : undefined;
  const repairProblem = repair === undefined ? undefined : kind === 'pack' ? '[build] repair only applies to wheel packages; a pack\'s prefix is not a wheel' : repairPolicyProblem(repair);
  if (repairProblem) problems.push({ path: ['build', 'repair'], anchor: kind === 'pack' ? 'key' : 'value', message: repairProblem });
  if (kind === 'pack') {
    for (const [table, key] of [['test', 'imports'], ['test', 'commands'], ['test', 'requires'], ['test', 'env'], ['runtime', 'requires']] as const) {
      if (doc[table] !== undefined && key in ((doc[table] as TomlTable) ?? {})) {
        problems.push({ path: [table, key], anchor: 'key', message: `[${table}] ${key} only applies to wheel packages; a pack is mounted into builds, not installed` });
      }
    }
  }

  return {
    name: stem,
    file,
    requires,
    runtimeRequires,
    vars,
    test: { imports, commands, requires: testRequires, ...(typeof tst['env'] === 'string' ? { env: tst['env'] } : {}) },
    release: typeof release === 'number' ? release : 1,
    ...(displayName !== undefined ? { displayName } : {}),
    ...(version !== undefined ? { version } : {}),
    ...(KINDS.includes(kind as PackageKind) ? { kind: kind as PackageKind } : {}),
    ...(typeof p['summary'] === 'string' ? { summary: p['summary'] } : {}),
    ...(typeof p['license'] === 'string' ? { license: p['license'] } : {}),
    ...(typeof p['homepage'] === 'string' ? { homepage: p['homepage'] } : {}),
    ...(upstream ? { upstream } : {}),
    ...(recipe !== undefined ? { recipe } : {}),
    ...(typeof b['env'] === 'string' ? { env: b['env'] } : {}),
    ...(Array.isArray(b['targets']) ? { targets: b['targets'] as string[] } : {}),
    ...(repair !== undefined && !repairProblem ? { repair } : {}),
    ...(labelsOk && Object.keys(labels).length ? { labels } : {}),
  };
}
