import { WeldError } from '../../core/errors.js';

// One class per way `weld compose image` can fail; `code` is stable for --json and tests.

export class ComposeNotFoundError extends WeldError {
  readonly code = 'E_COMPOSE_NOT_FOUND';
  constructor(readonly compose: string, known: string[], suggestion?: string) {
    super(`no compose named "${compose}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`);
    this.hint = known.length ? `composes: ${known.join(', ')} (metadata/composes/<name>.toml)` : 'add metadata/composes/<name>.toml with kind = "image"';
  }
}

export class ComposeKindError extends WeldError {
  readonly code = 'E_COMPOSE_KIND';
  constructor(readonly compose: string, kind: string, file: string) {
    super(`compose "${compose}" is a ${kind}, not an image (${file})`);
    this.hint = kind === 'wheelhouse' ? `run \`weld compose wheelhouse ${compose}\`` : 'set kind = "image" in its file';
  }
}

/** Packages the compose names that have no build matching the metadata now. */
export class ComposeUnbuiltError extends WeldError {
  readonly code = 'E_COMPOSE_UNBUILT';
  constructor(readonly missing: Array<{ pkg: string; reason: string }>) {
    super(`${missing.length === 1 ? 'a package is' : `${missing.length} packages are`} not built for the metadata as it is now:\n${missing.map((m) => `  ${m.pkg}: ${m.reason}`).join('\n')}`);
    this.hint = `run \`weld build ${missing.map((m) => m.pkg).join(' ')}\``;
  }
}

/** A package of the compose, or one it needs at run time, cannot go into an image. */
export class ComposePackagesError extends WeldError {
  readonly code = 'E_COMPOSE_PACKAGES';
  constructor(readonly compose: string, file: string, problems: string[]) {
    super(`compose "${compose}" (${file}):\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.hint = `an image holds wheel packages only: fix packages = […] of ${file} or the packages' [runtime] requires`;
  }
}

export class RuntimeImageMissingError extends WeldError {
  readonly code = 'E_RUNTIME_IMAGE_MISSING';
  constructor(readonly env: string, why: string) {
    super(`the runtime env "${env}" has no image in the store: ${why}`);
    this.hint = `run \`weld env fetch ${env} && weld env compose ${env}\``;
  }
}

/** A wheel that an installer must refuse: bad zip, unsafe path, missing metadata. */
export class WheelInvalidError extends WeldError {
  readonly code = 'E_WHEEL_INVALID';
  constructor(readonly wheel: string, readonly entry: string | undefined, reason: string) {
    super(`wheel ${wheel}${entry !== undefined ? `, entry ${JSON.stringify(entry)}` : ''}: ${reason}`);
    this.hint = 'the wheel is not installable as built; fix its build (or its recipe) and rebuild it';
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
