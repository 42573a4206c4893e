import { WeldError } from '../core/errors.js';

// One class per way an env verb can fail; `code` is stable for --json and tests.

export class EnvNotFoundError extends WeldError {
  readonly code = 'E_ENV_NOT_FOUND';
  constructor(readonly env: string, known: string[], suggestion?: string) {
    super(`no env named "${env}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`);
    this.hint = known.length ? `envs: ${known.join(', ')} (metadata/envs/<env>.toml)` : 'add metadata/envs/<env>.toml';
  }
}

export class EnvNotLockedError extends WeldError {
  readonly code = 'E_ENV_NOT_LOCKED';
  constructor(readonly env: string) {
    super(`env "${env}" has no lock (metadata/envs/${env}.lock.toml)`);
    this.hint = `run \`weld env lock ${env}\` and commit the lock`;
  }
}

/** The env file changed since its lock was written. */
export class EnvLockStaleError extends WeldError {
  readonly code = 'E_ENV_LOCK_STALE';
  constructor(readonly env: string, what: string) {
    super(`the lock of env "${env}" is stale: ${what}`);
    this.hint = `run \`weld env lock ${env}\` and commit the lock`;
  }
}

export class DebianMirrorUnknownError extends WeldError {
  readonly code = 'E_DEBIAN_MIRROR_UNKNOWN';
  constructor(readonly suite: string) {
    super(`no Debian mirror for suite "${suite}" in this host's apt sources`);
    this.hint = 'set WELD_DEBIAN_MIRROR to an archive base URL (e.g. http://<mirror>/debian), or add the suite to /etc/apt/sources.list.d';
  }
}

/** apt could not resolve the package list; its own words are in the message. */
export class AptResolveError extends WeldError {
  readonly code = 'E_APT_RESOLVE';
  constructor(readonly env: string, step: string, output: string) {
    super(`apt ${step} for env "${env}" failed:\n${output.trim().split('\n').slice(-12).join('\n')}`);
    this.hint = 'check the package names in the env file and that the mirror serves this suite and arch';
  }
}

export class LockWriteError extends WeldError {
  readonly code = 'E_ENV_LOCK_WRITE';
  constructor(readonly file: string, reason: string) {
    super(`cannot write ${file}: ${reason}`);
  }
}

/** A locked .deb is not in the store: `weld env fetch` has not run. */
export class DebNotFetchedError extends WeldError {
  readonly code = 'E_DEB_NOT_FETCHED';
  constructor(readonly env: string, missing: string[]) {
    super(`${missing.length} locked .deb${missing.length === 1 ? ' is' : 's are'} not in the store (first: ${missing[0]})`);
    this.hint = `run \`weld env fetch ${env}\``;
  }
}

/** A .deb's bytes do not hash to what the lock says. */
export class DebDigestMismatchError extends WeldError {
  readonly code = 'E_DEB_DIGEST_MISMATCH';
  constructor(readonly deb: string, readonly expected: string, readonly actual: string) {
    super(`${deb}: the lock says sha256 ${expected} but the bytes hash to ${actual}`);
    this.hint = 'the store blob is damaged or the lock was edited: run `weld store verify --repair`, then `weld env fetch`';
  }
}

/** The .deb is not a Debian binary package we can read. */
export class DebFormatError extends WeldError {
  readonly code = 'E_DEB_FORMAT';
  constructor(readonly deb: string, reason: string) {
    super(`${deb}: ${reason}`);
    this.hint = 'a .deb is an ar archive holding debian-binary, control.tar.* and data.tar.{xz,zst,gz}';
  }
}

/** An entry of a .deb would land outside the root filesystem. */
export class DebUnsafePathError extends WeldError {
  readonly code = 'E_DEB_UNSAFE_PATH';
  constructor(readonly deb: string, readonly entry: string, reason: string) {
    super(`${deb}: refusing entry "${entry}": ${reason}`);
    this.hint = 'the package is broken or malicious; remove it from the env or pin another version';
  }
}

/** The command run by `weld env shell` exited non-zero. */
export class ShellExitError extends WeldError {
  readonly code = 'E_ENV_SHELL_EXIT';
  constructor(readonly env: string, readonly exitCode: number | null) {
    super(`the command in env "${env}" exited with ${exitCode ?? 'a signal'}`);
  }
}
