// Naming rules for the things metadata refers to.
import { quote } from '../core/diagnostics.js';

/** PEP 508 project name: letters and digits, with `.`, `_`, `-` inside. */
const PROJECT_NAME = /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i;

export function isValidProjectName(name: string): boolean {
  return PROJECT_NAME.test(name);
}

/** PEP 503 normalisation: the form used in file names, indexes and `requires`. */
export function normalizeName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/** PEP 440 public version (with optional local part), case-insensitive as the PEP says. */
const PEP440 =
  /^v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?[0-9]*)?(?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?(?:[-_.]?dev[-_.]?[0-9]*)?(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?$/i;

export function isPep440Version(v: string): boolean {
  return PEP440.test(v);
}

/** Native libraries use looser upstream versions (e.g. 1.2.3, 2024a, 9.4p1); still no spaces or slashes. */
const NATIVE_VERSION = /^[0-9][A-Za-z0-9.+~_-]*$/;

export function isNativeVersion(v: string): boolean {
  return NATIVE_VERSION.test(v);
}

/** Debian source package name (Debian Policy 5.6.1). */
const DEBIAN_SOURCE = /^[a-z0-9][a-z0-9+.-]+$/;

export function isDebianSourceName(s: string): boolean {
  return DEBIAN_SOURCE.test(s);
}

/** Debian package name as it appears in an env's package list (may carry an `:arch`). */
const DEBIAN_BINARY = /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$/;

export function isDebianPackageName(s: string): boolean {
  return DEBIAN_BINARY.test(s);
}

/** Names of envs, composes and recipes: they become file names and image tags. */
const SIMPLE_NAME = /^[a-z0-9][a-z0-9._-]*$/;

export function isSimpleName(s: string): boolean {
  return SIMPLE_NAME.test(s) && !s.endsWith('.lock');
}

/** Architectures weld can build for, in Debian's spelling (podman uses the same for these). */
export const ARCHES = ['s390x', 'amd64', 'arm64', 'ppc64el'] as const;
export type Arch = (typeof ARCHES)[number];

/** Build variables become environment variables in the builder. */
export function isBuildVarName(s: string): boolean {
  return /^[A-Z_][A-Z0-9_]*$/.test(s);
}

export function isFullCommitId(s: string): boolean {
  return /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(s);
}

export function isSha256Hex(s: string): boolean {
  return /^[0-9a-f]{64}$/.test(s);
}

/** Names of envs and composes (file stems) and of patch directories, in one rule. */
export const NAME_RULE = 'lowercase letters, digits, ".", "_" and "-", starting with a letter or digit and not ending in ".lock"';

/**
 * Why `name` cannot name an env, a compose or a patch directory (a package's
 * directory must also be a PEP 503-normalised package name), or undefined when it can.
 */
export function nameProblem(opts: { name: string; what: 'env' | 'compose' | 'patch directory' }): string | undefined {
  const { name, what } = opts;
  if (!isSimpleName(name)) return `${what} name ${quote(name)} is not valid: names are ${NAME_RULE}`;
  if (what === 'patch directory' && (!isValidProjectName(name) || normalizeName(name) !== name)) {
    return `${what} name ${quote(name)} is not valid: it must be a package's normalised name (${NAME_RULE}, no runs of "-", "_", ".")${isValidProjectName(name) ? `; rename it "${normalizeName(name)}"` : ''}`;
  }
  return undefined;
}

/**
 * Why git would refuse `ref` as a full ref name (git-check-ref-format(1)), or
 * undefined when it is valid. Pure, so `weld check` needs no git to apply it.
 */
export function refFormatProblem(ref: string): string | undefined {
  if (ref === '@') return 'it is "@"';
  if (ref.startsWith('/') || ref.endsWith('/') || ref.includes('//')) return 'it has an empty path component (a leading, trailing or double "/")';
  if (ref.endsWith('.')) return 'it ends with "."';
  if (ref.includes('..')) return 'it contains ".."';
  if (ref.includes('@{')) return 'it contains "@{"';
  // eslint-disable-next-line no-control-regex
  const bad = /[\x00-\x20\x7f~^:?*[\\]/.exec(ref);
  if (bad) return `it contains ${bad[0] <= ' ' || bad[0] === '\x7f' ? `the control character or space U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` : `"${bad[0]}"`}`;
  for (const c of ref.split('/')) {
    if (c.startsWith('.')) return `its component ${quote(c)} starts with "."`;
    if (c.endsWith('.lock')) return `its component ${quote(c)} ends with ".lock"`;
  }
  return undefined;
}

/**
 * A version as it appears in ref names (`upstream/<v>`, `distro/<v>-<release>`),
 * escaped the way DEP-14 (git-buildpackage) does: `~` → `_`, `:` → `%`, and `#`
 * after a dot that is followed by a dot, ends the version or starts a final `lock`
 * (`1..0` → `1.#.0`, `1.` → `1.#`, `1.0.lock` → `1.0.#lock`); a leading dot gets one
 * before it. Versions without these characters map to themselves.
 */
export function versionRef(version: string): string {
  const v = version.replace(/\.(?=\.|$|lock$)/g, '.#').replace(/~/g, '_').replace(/:/g, '%');
  return v.startsWith('.') ? `#${v}` : v;
}

/** `upstream/<version>`: the mirror's tag on the pinned upstream source */
export const upstreamTag = (version: string): string => `upstream/${versionRef(version)}`;
export const upstreamTagRef = (version: string): string => `refs/tags/${upstreamTag(version)}`;
export const distroTagRef = (version: string, release: number): string => `refs/tags/distro/${versionRef(version)}-${release}`;

/** Why `version` cannot become weld's ref names, or undefined when it can. */
export function versionRefProblem(version: string): string | undefined {
  const why = refFormatProblem(upstreamTagRef(version)) ?? refFormatProblem(distroTagRef(version, 1));
  return why && `version ${quote(version)} cannot name the mirror's tags (as ${quote(versionRef(version))}, ${why}); use letters, digits, ".", "+", "~", "_" and "-"`;
}

/** Why a pinned tag or branch could not be fetched safely, or undefined when it can. */
export function upstreamRefProblem(opts: { name: string; kind: 'tag' | 'branch' }): string | undefined {
  const { name, kind } = opts;
  if (name.startsWith('-')) return `${kind} ${quote(name)} starts with "-", so git would take it for an option; name the ${kind} as upstream spells it`;
  const why = refFormatProblem(`refs/${kind === 'tag' ? 'tags' : 'heads'}/${name}`);
  return why && `${kind} ${quote(name)} is not a valid git ref name: ${why} (git check-ref-format)`;
}

/** A backend label key (`[build] labels`, backends files, selectors): like a Kubernetes label key, lower case. */
export const LABEL_KEY = /^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/;
/** A label value: 1-63 letters, digits, ".", "_", "-", starting and ending with a letter or digit. */
export const LABEL_VALUE = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
