import { WeldError } from '../core/errors.js';

// One class per way the store can refuse or fail; `code` is stable for --json and tests.

/** A string that should be a digest is not `sha256:<64 hex>` (or bare 64 hex where allowed). */
export class BadDigestError extends WeldError {
  readonly code = 'E_STORE_BAD_DIGEST';
  constructor(readonly input: string, readonly where: string) {
    super(`${where}: "${input.length > 80 ? input.slice(0, 80) + '…' : input}" is not a digest`);
    this.hint = 'a digest is sha256: followed by 64 lowercase hex characters, e.g. sha256:e3b0c442…b855';
  }
}

/** Content did not hash to the digest the caller promised; nothing was stored. */
export class DigestMismatchError extends WeldError {
  readonly code = 'E_STORE_DIGEST_MISMATCH';
  constructor(readonly expected: string, readonly actual: string, readonly source: string) {
    super(`${source}: expected ${expected} but the content is ${actual}; nothing was stored`);
    this.hint = 'the file changed or the expected digest is wrong: check where the digest came from';
  }
}

/** The store's location is unusable: a file where a directory should be, no permission, … */
export class StorePathError extends WeldError {
  readonly code = 'E_STORE_PATH';
  constructor(readonly path: string, reason: string, hint?: string) {
    super(`store at ${path}: ${reason}`);
    this.hint = hint ?? 'pass --store <dir>, set WELD_STORE, or set [paths] store in metadata/weld.toml';
  }
}

/** A read-only operation was asked of a store that has never been created. */
export class StoreNotFoundError extends WeldError {
  readonly code = 'E_STORE_NOT_FOUND';
  constructor(readonly path: string) {
    super(`no store at ${path}`);
    this.hint = 'a store is created by the first `weld store put` or build; or point --store / WELD_STORE at an existing one';
  }
}

/** Another process held the index for longer than we were willing to wait. */
export class StoreBusyError extends WeldError {
  readonly code = 'E_STORE_BUSY';
  constructor(readonly path: string, readonly holder: string, readonly waitedMs: number) {
    super(`store at ${path} is in use by ${holder}; gave up after ${(waitedMs / 1000).toFixed(1)} s`);
    this.hint = 'wait for that weld process to finish (or stop it), then try again';
  }
}

/** No blob with that digest is in the store. */
export class BlobNotFoundError extends WeldError {
  readonly code = 'E_STORE_BLOB_NOT_FOUND';
  constructor(readonly digest: string) {
    super(`no blob ${digest} in the store`);
    this.hint = 'run `weld store ls` to see what the store holds';
  }
}

/** The content to put could not be read (missing file, no permission, a directory, a failing stream). */
export class SourceReadError extends WeldError {
  readonly code = 'E_STORE_SOURCE';
  constructor(readonly source: string, reason: string) {
    super(`cannot read ${source}: ${reason}; nothing was stored`);
  }
}

/** A record is malformed or refers to blobs the store does not hold; the batch was not written. */
export class RecordInvalidError extends WeldError {
  readonly code = 'E_STORE_RECORD_INVALID';
  constructor(readonly key: string, reason: string, hint?: string) {
    super(`record ${key}: ${reason}; no record of the batch was written`);
    if (hint) this.hint = hint;
  }
}

/** A stored record cannot be decoded: unknown kind or an encoding version this weld does not know. */
export class RecordDecodeError extends WeldError {
  readonly code = 'E_STORE_RECORD_DECODE';
  constructor(readonly key: string, reason: string) {
    super(`stored record ${key} cannot be read: ${reason}`);
    this.hint = 'it was written by a newer or broken weld; `weld store verify --repair` marks it broken';
  }
}

/** The filesystem failed underneath us (disk full, I/O error); the operation was rolled back. */
export class StoreIOError extends WeldError {
  readonly code = 'E_STORE_IO';
  constructor(readonly path: string, reason: string) {
    super(`store I/O failed at ${path}: ${reason}`);
  }
}

/** `code: message` of a node error, or the message of anything else. */
export function describe(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return code && !e.message.startsWith(code) ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}

/** verify found problems it did not (or could not) repair. */
export class StoreInconsistentError extends WeldError {
  readonly code = 'E_STORE_INCONSISTENT';
  constructor(readonly problems: number, repaired: boolean) {
    super(`the store has ${problems} problem${problems === 1 ? '' : 's'}${repaired ? ' that --repair cannot fix' : ''}`);
    this.hint = repaired ? 'records this weld cannot read are left as they are; a newer weld may read them' : 'run `weld store verify --repair`';
  }
}
