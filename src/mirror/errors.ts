import { WeldError } from '../core/errors.js';

/** The upstream could not be reached or answered with an error. */
export class UpstreamUnreachableError extends WeldError {
  readonly code = 'E_UPSTREAM_UNREACHABLE';
  constructor(
    readonly url: string,
    readonly cause_: string,
  ) {
    super(`cannot fetch ${url}: ${cause_}`);
    this.hint = 'check the [upstream] of the package file and that the server answers; once mirrored, builds need no network';
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), url: this.url, cause: this.cause_ };
  }
}

/** A download's sha256 is not the one the metadata (or the Debian index) promised. */
export class ChecksumMismatchError extends WeldError {
  readonly code = 'E_CHECKSUM_MISMATCH';
  constructor(
    readonly url: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${url}: sha256 mismatch: expected ${expected}, got ${actual}; nothing was imported`);
    this.hint = 'if the new tarball is trusted, update sha256 in the package file; otherwise the download was tampered with or truncated';
  }
}

/** The pinned tag or commit is not in the upstream repository. */
export class UpstreamRefError extends WeldError {
  readonly code = 'E_UPSTREAM_REF';
}

/** The Debian archive has no usable source for the package. */
export class DebianSourceError extends WeldError {
  readonly code = 'E_DEBIAN_SOURCE';
}

/** Something about the mirror repository itself is wrong (not a bare repo, unwritable). */
export class MirrorRepoError extends WeldError {
  readonly code = 'E_MIRROR_REPO';
}

/** The lock file could not be read. */
export class LockFileError extends WeldError {
  readonly code = 'E_LOCK_FILE';
}

/** Another git or weld process is changing the same mirror. */
export class MirrorBusyError extends WeldError {
  readonly code = 'E_MIRROR_BUSY';
  constructor(
    readonly gitdir: string,
    detail: string,
  ) {
    super(`${gitdir}: ${detail}; nothing was changed`);
    this.hint = 'another weld mirror or git command is working on this mirror: let it finish, then run weld mirror again (a .lock file left by a killed git can be removed once no git runs)';
  }
}

/** A ref weld would write is not a valid git ref name. */
export class RefNameError extends WeldError {
  readonly code = 'E_REF_NAME';
  constructor(
    readonly ref: string,
    why: string,
  ) {
    super(`cannot name a ref "${ref}": it ${why} (git check-ref-format); nothing was written`);
    this.hint = 'the ref is made from version and release in the package file: use a version git can name a tag after';
  }
}

/** A local upstream (path or file:// URL) resolves outside the project and every allowed directory. */
export class LocalSourceRefusedError extends WeldError {
  readonly code = 'E_LOCAL_SOURCE_REFUSED';
}
