// Naming rules for the things metadata refers to.

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
