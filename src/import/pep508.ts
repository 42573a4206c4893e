import * as pep440 from '@renovatebot/pep440';
import { parsePipRequirementsLine, type EnvironmentMarker } from 'pip-requirements-js';
import { normalizeName } from '../metadata/names.js';

// PEP 508 requirement strings are parsed by pip-requirements-js (a grammar port of
// PEP 508's own); versions and specifiers are compared by @renovatebot/pep440. Neither
// evaluates markers, so that is done here, on the parser's tree, with PEP 440 rules
// for the version-valued variables.

export interface Requirement {
  /** as written */
  name: string;
  /** PEP 503-normalised */
  key: string;
  /** comma-joined specifiers, "" for any version */
  specifier: string;
  /** normalised extra names, sorted */
  extras: string[];
  marker?: EnvironmentMarker;
}

/** The values PEP 508's marker variables take on one build target. */
export type MarkerEnvironment = Record<string, string>;

type Parsed = { ok: true; value: Requirement } | { ok: false; message: string };

// The grammar is exact but not quick (~0.5 ms a string): the same strings come back often
// (every requirer of a project spells it alike), so each is parsed once per process.
const memo = new Map<string, Parsed>();

export function parseRequirement(text: string): Parsed {
  let hit = memo.get(text);
  if (!hit) memo.set(text, (hit = parseOnce(text)));
  return hit;
}

/**
 * The common shape — a name, extras, comma-separated specifiers, no marker, no URL — in one
 * regular expression; it is a strict subset of PEP 508's grammar, and anything else goes to
 * the grammar. Most requirement strings are this shape, and the grammar costs a hundred times more.
 */
const SIMPLE = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:\s*,\s*[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)*)?\s*\])?\s*((?:===|==|!=|<=|>=|~=|<|>)\s*[A-Za-z0-9.*+!_-]+(?:\s*,\s*(?:===|==|!=|<=|>=|~=|<|>)\s*[A-Za-z0-9.*+!_-]+)*)?\s*$/;

function parseSimple(text: string): Parsed | undefined {
  const m = SIMPLE.exec(text);
  if (!m) return undefined;
  const specs = (m[3] ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map((x) => {
      const op = /^(===|==|!=|<=|>=|~=|<|>)/.exec(x)![1]!;
      return { operator: op, version: x.slice(op.length).trim() };
    });
  for (const sp of specs) if (sp.operator !== '===' && !pep440.valid(sp.version.replace(/\.\*$/, ''))) return undefined; // the grammar words the error
  const extras = (m[2] ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  return { ok: true, value: { name: m[1]!, key: normalizeName(m[1]!), specifier: specs.map((sp) => `${sp.operator}${sp.version}`).join(','), extras: [...new Set(extras.map(normalizeName))].sort() } };
}

function parseOnce(text: string): Parsed {
  const simple = parseSimple(text);
  if (simple) return simple;
  let parsed;
  try {
    parsed = parsePipRequirementsLine(text);
  } catch (e: unknown) {
    return { ok: false, message: (e as Error).message.replace(/^Failed to parse requirements line\. /, '') };
  }
  if (!parsed) return { ok: false, message: 'no requirement on the line' };
  if (parsed.type !== 'ProjectName') {
    return { ok: false, message: parsed.type === 'ProjectURL' ? `a direct URL requirement (${parsed.name} @ ${parsed.url}); weld imports from its sources, so give a version instead` : 'not a requirement' };
  }
  const specs = parsed.versionSpec ?? [];
  for (const s of specs) {
    // "==1.*" is a valid prefix match; everything else must be a PEP 440 version
    if (!pep440.valid(s.version.replace(/\.\*$/, '')) && s.operator !== '===') return { ok: false, message: `"${s.version}" is not a PEP 440 version` };
  }
  const specifier = specs.map((s) => `${s.operator}${s.version}`).join(',');
  return {
    ok: true,
    value: {
      name: parsed.name,
      key: normalizeName(parsed.name),
      specifier,
      extras: [...new Set((parsed.extras ?? []).map(normalizeName))].sort(),
      ...(parsed.environmentMarkerTree ? { marker: parsed.environmentMarkerTree } : {}),
    },
  };
}

const VERSION_VARS = new Set(['python_version', 'python_full_version', 'implementation_version']);

function unquote(s: string): string | undefined {
  return /^(["']).*\1$/s.test(s) ? s.slice(1, -1) : undefined;
}

/**
 * Whether a marker holds in `env`. `extras` are the extras asked for (normalised); with
 * none, `extra == "x"` is false, as pip has it for a plain install.
 */
export function evaluateMarker(opts: { marker: EnvironmentMarker; env: MarkerEnvironment; extras: string[] }): boolean {
  const { marker, env, extras } = opts;
  if ('left' in marker && 'right' in marker && (marker.operator === 'and' || marker.operator === 'or')) {
    const node = marker as { operator: 'and' | 'or'; left: EnvironmentMarker; right: EnvironmentMarker };
    const left = evaluateMarker({ marker: node.left, env, extras });
    if (node.operator === 'and' && !left) return false;
    if (node.operator === 'or' && left) return true;
    return evaluateMarker({ marker: node.right, env, extras });
  }
  const leaf = marker as { left: string; operator: string; right: string };
  const lq = unquote(leaf.left);
  const rq = unquote(leaf.right);
  const variable = lq === undefined ? leaf.left : rq === undefined ? leaf.right : undefined;
  if (variable === 'extra') {
    const value = normalizeName(lq ?? rq ?? '');
    const has = extras.includes(value);
    return leaf.operator === '==' ? has : leaf.operator === '!=' ? !has : false;
  }
  const value = (s: string, q: string | undefined) => q ?? env[s] ?? '';
  const l = value(leaf.left, lq);
  const r = value(leaf.right, rq);
  switch (leaf.operator) {
    case 'in':
      return r.includes(l);
    case 'not in':
      return !r.includes(l);
  }
  // PEP 508: a version comparison when both sides are versions, else a string one
  if (variable !== undefined && VERSION_VARS.has(variable) && pep440.valid(lq === undefined ? r.replace(/\.\*$/, '') : l.replace(/\.\*$/, '')) && pep440.valid(lq === undefined ? l : r)) {
    return lq === undefined ? pep440.satisfies(l, `${leaf.operator}${r}`, { prereleases: true }) : pep440.satisfies(r, `${flip(leaf.operator)}${l}`, { prereleases: true });
  }
  switch (leaf.operator) {
    case '==':
    case '===':
      return l === r;
    case '!=':
      return l !== r;
    case '<':
      return l < r;
    case '<=':
      return l <= r;
    case '>':
      return l > r;
    case '>=':
      return l >= r;
    default:
      return false;
  }
}

/** `"3.8" < python_version` is `python_version > "3.8"`. */
function flip(op: string): string {
  return ({ '<': '>', '<=': '>=', '>': '<', '>=': '<=' } as Record<string, string>)[op] ?? op;
}

/** Debian architecture → what Python's platform.machine() says there. */
const MACHINE: Record<string, string> = { s390x: 's390x', amd64: 'x86_64', arm64: 'aarch64', ppc64el: 'ppc64le' };

/** The marker environment of CPython `pythonVersion` (x.y.z) on Linux for a Debian arch. */
export function markerEnvironment(opts: { arch: string; pythonVersion: string }): MarkerEnvironment {
  const [major, minor] = opts.pythonVersion.split('.');
  return {
    os_name: 'posix',
    sys_platform: 'linux',
    platform_system: 'Linux',
    platform_machine: MACHINE[opts.arch] ?? opts.arch,
    platform_python_implementation: 'CPython',
    implementation_name: 'cpython',
    implementation_version: opts.pythonVersion,
    python_version: `${major}.${minor}`,
    python_full_version: opts.pythonVersion,
    // not knowable for a build target; markers on these are rare and compare as strings
    platform_release: '',
    platform_version: '',
  };
}

/** Whether `version` satisfies a comma-joined specifier ("" allows any version). */
export function satisfies(opts: { version: string; specifier: string; prereleases?: boolean }): boolean {
  if (!opts.specifier) return pep440.valid(opts.version) !== null;
  return pep440.satisfies(opts.version, opts.specifier, { prereleases: opts.prereleases ?? false });
}

/** PEP 440 order, newest last; versions that are not PEP 440 are dropped. */
export function sortVersions(versions: string[]): string[] {
  return versions.filter((v) => pep440.valid(v) !== null).sort((a, b) => pep440.compare(a, b));
}

export function isPrerelease(version: string): boolean {
  return pep440.explain(version)?.is_prerelease ?? false;
}

export function validVersion(version: string): boolean {
  return pep440.valid(version) !== null;
}

/** The specifier names one version only (`==1.2.3`, no wildcard). */
export function exactPin(specifier: string): string | undefined {
  const m = /^===?([^,*]+)$/.exec(specifier);
  return m?.[1];
}
