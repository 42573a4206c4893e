import type { Arch } from './names.js';
import type { PackageGraph } from './graph.js';
import type { LockEntry } from './lock-file.js';
import type { Provenance } from './source.js';

// The validated, typed view of a distro's metadata. Paths are project-relative and
// POSIX (`metadata/packages/pyyaml.toml`), the same whether read from disk or a git ref.

/**
 * What the distro is built for: an arch, a builder env (its Python) and the runtime env
 * its wheels are tested in and its images start from. `[[target]]` tables in weld.toml
 * list them; without any, `[distro] arch/env/runtime_env` make the one target.
 */
export interface Target {
  /** `[[target]] name`, or the default env's name for the implicit target */
  name: string;
  arch: Arch;
  /** builder env of packages whose [build] names none */
  env: string;
  /** where wheels are tested and images start from; resolved (test-env.ts) when it can be */
  runtimeEnv?: string;
  /** runtime_env was written (for the implicit target: `[distro] runtime_env`), so every wheel of the target is tested there */
  runtimeEnvSet?: boolean;
}

export interface Distro {
  name: string;
  /** the first target's: what single-target code paths and messages name */
  arch: Arch;
  /** env used by packages that do not name one (the first target's) */
  defaultEnv: string;
  /** `[distro] runtime_env` (or the first target's): where wheels are tested when their [test] names no env */
  runtimeEnv?: string;
  /** at least one, in weld.toml order; `implicit` when weld.toml has no [[target]] */
  targets: Target[];
  implicitTarget?: boolean;
  /** set in a target view of a distro with several targets (targets.ts): the one it is for */
  viewOf?: string;
  /** wheel repair policy for packages whose [build] names none (README, "Wheel repair") */
  repairPolicy?: string;
  /** project-relative or absolute; only a default, `--store`/`WELD_STORE` win */
  storePath?: string;
  mirrorsPath?: string;
  /** [sources] allow_paths: directories outside the project that local upstreams may come from */
  allowPaths?: string[];
  /** `[mirror]`: limits for importing release tarballs (defaults: 8 GiB unpacked, 1,000,000 entries) */
  mirror?: { maxUnpackedBytes?: number; maxEntries?: number };
  /** `[store]`: the store shared through an OCI registry (README, "A shared store") */
  store?: { remote?: string; push?: boolean; trustedKeys?: string[]; tlsVerify?: boolean };
  file: string;
}

export type Upstream =
  | { kind: 'git'; url: string; tag?: string; commit?: string; /** the upstream branch that holds the pin, when not main/master */ branch?: string }
  | { kind: 'tarball'; url: string; sha256: string }
  /** `suite`: where the source comes from when not the env's suite (a newer release, say) */
  | { kind: 'debian'; source: string; debianPatches: boolean; suite?: string };

export type PackageKind = 'wheel' | 'pack';

export interface Package {
  /** PEP 503-normalised: the key everything else uses */
  name: string;
  /** as written in [package] name, e.g. MarkupSafe */
  displayName: string;
  version: string;
  release: number;
  kind: PackageKind;
  summary?: string;
  license?: string;
  homepage?: string;
  upstream: Upstream;
  recipe: string;
  env: string;
  /** build-time weld packages, normalised; their outputs are mounted into the build */
  requires: string[];
  /** extra environment for the recipe; part of the cache key */
  vars: Record<string, string>;
  /** [build] repair: this wheel's repair policy, over the distro's */
  repair?: string;
  /** the targets it builds for, in the distro's order (`[build] targets`, else all) */
  targets: string[];
  /** `[build] env` and `[test] env` as written: a target view resolves the rest against its target */
  given: { env?: string; testEnv?: string };
  /** [build] labels: what a build backend must have to build it (a big machine, say); not part of the cache key */
  labels?: Record<string, string>;
  /** weld packages this one needs at run time (composes pull them in) */
  runtimeRequires: string[];
  /** `[test]`: what is run against the built wheel in its runtime env (README, "Tests") */
  test: TestSpec;
  /** project-relative paths of the distro patches, in the order they apply */
  patches: string[];
  file: string;
}

/** A wheel's test: run after its build and repair, in a runtime env of the target arch, network off. */
export interface TestSpec {
  /** modules that must import once the wheel and its run-time requirements are installed */
  imports: string[];
  /** shell commands run after the imports, the source tree read-only at $WELD_SRC */
  commands: string[];
  /** weld packages installed only for the test (with their run-time requirements) */
  requires: string[];
  /** the runtime env the test runs in: `[test] env`, else the distro's (resolved by validation) */
  env: string;
}

export type EnvKind = 'builder' | 'runtime';

export interface LockedDeb {
  name: string;
  version: string;
  arch: string;
  /** archive-relative, e.g. pool/main/p/python3.11/python3.11_3.11.2-6_s390x.deb */
  path: string;
  sha256: string;
  size: number;
}

export interface EnvLock {
  file: string;
  /** digest of the env's inputs when the lock was written; a mismatch means the lock is stale */
  inputs: string;
  /** the Debian suite and arch the debs were resolved for */
  suite: string;
  arch: string;
  debs: LockedDeb[];
}

export interface Env {
  name: string;
  kind: EnvKind;
  arch: Arch;
  suite: string;
  components: string[];
  packages: string[];
  file: string;
  lock?: EnvLock;
}

export type ComposeKind = 'wheelhouse' | 'image';

export interface Compose {
  name: string;
  kind: ComposeKind;
  /** normalised package names; empty means every wheel package */
  packages: string[];
  /** runtime env an image is built on */
  env?: string;
  /** default command of an image */
  cmd?: string[];
  /** the targets it composes for (`[compose] targets`, else all the distro's) */
  targets: string[];
  /** `env` as written (a target view sets `env` to it or to the target's runtime env) */
  givenEnv?: string;
  file: string;
}

/** What validation produces: plain data, so it can be cached as JSON. */
export interface MetadataData {
  distro: Distro;
  /** sorted by name */
  packages: Package[];
  envs: Env[];
  composes: Compose[];
  /** recipe names available in recipes/ (without .sh) */
  recipes: string[];
  /** metadata/weld.lock: what `weld mirror` recorded, by package */
  lock: Record<string, LockEntry>;
}

export interface Metadata {
  /** absolute path of the project root (the directory holding metadata/ and recipes/) */
  root: string;
  distro: Distro;
  packages: Map<string, Package>;
  envs: Map<string, Env>;
  composes: Map<string, Compose>;
  /** recipe names available in recipes/ (without .sh) */
  recipes: string[];
  graph: PackageGraph;
  lock: Record<string, LockEntry>;
  /** the metadata directory inside the root (normally "metadata") */
  metaDir: string;
  provenance: () => Promise<Provenance>;
  /** a project file's text from wherever the metadata was read (work tree or ref), e.g. a patch */
  read: (file: string) => Promise<string | undefined>;
}
