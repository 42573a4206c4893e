import { WeldError } from '../../core/errors.js';

// The ways only `weld compose image` can fail (the ones every compose shares are in
// ../errors.ts); `code` is stable for --json and tests.

export class RuntimeImageMissingError extends WeldError {
  readonly code = 'E_RUNTIME_IMAGE_MISSING';
  constructor(readonly env: string, why: string) {
    super(`the runtime env "${env}" has no image in the store: ${why}`);
    this.hint = `run \`weld env fetch ${env} && weld env compose ${env}\``;
  }
}

/** A file of a wheel does not match the hash or size its RECORD lists. */
export class WheelRecordMismatchError extends WeldError {
  readonly code = 'E_WHEEL_RECORD_MISMATCH';
  constructor(readonly wheel: string, readonly file: string, expected: string, actual: string) {
    super(`wheel ${wheel}: ${file} does not match its RECORD (RECORD says ${expected}, the file is ${actual})`);
    this.hint = 'the wheel was altered after it was built; rebuild it (`weld build --check` compares with the record)';
  }
}

/** A wheel built for another Python or another platform than the runtime's. */
export class WheelIncompatibleError extends WeldError {
  readonly code = 'E_WHEEL_INCOMPATIBLE';
  constructor(readonly wheel: string, runtime: string) {
    super(`wheel ${wheel} does not run on the image's ${runtime}`);
    this.hint = 'build the package in an env whose Python matches the runtime env (same Debian suite)';
  }
}

/** Two wheels install the same path. */
export class InstallConflictError extends WeldError {
  readonly code = 'E_INSTALL_CONFLICT';
  constructor(readonly path: string, a: string, b: string) {
    super(`${a} and ${b} both install /${path}`);
    this.hint = 'one of the packages must not be in the compose, or must not ship that file';
  }
}

export class ImageWriteError extends WeldError {
  readonly code = 'E_IMAGE_WRITE';
  constructor(readonly file: string, reason: string) {
    super(`cannot write ${file}: ${reason}`);
    this.hint = 'check that the directory is writable and has space, or pass --out <file>';
  }
}
