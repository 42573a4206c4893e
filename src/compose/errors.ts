import { WeldError } from '../core/errors.js';

// The failures both kinds of compose share, one class each; `code` is stable for --json
// and tests. What only an image or only a wheelhouse can hit stays in image/errors.ts and
// wheelhouse/errors.ts.

export class ComposeNotFoundError extends WeldError {
  readonly code = 'E_COMPOSE_NOT_FOUND';
}

/** The compose exists but is the other kind. */
export class ComposeKindError extends WeldError {
  readonly code = 'E_COMPOSE_KIND';
}

/** A package the compose would hand out, or one it needs at run time, cannot go into it. */
export class ComposePackagesError extends WeldError {
  readonly code = 'E_COMPOSE_PACKAGES';
  constructor(readonly compose: string, file: string, problems: string[], hint: string) {
    super(`compose "${compose}"${file ? ` (${file})` : ''}:\n${problems.map((p) => `  ${p}`).join('\n')}`, hint);
  }
}

/** Some packages of a compose have no build matching the metadata now; every one is listed. */
/** A package of the compose failed its test for its current build: the compose refuses it. */
export class TestsFailedError extends WeldError {
  readonly code = 'E_COMPOSE_TEST_FAILED';
  constructor(
    readonly compose: string,
    readonly failed: Array<{ package: string; reason: string }>,
  ) {
    super(
      `compose "${compose}": ${failed.length === 1 ? 'a wheel' : `${failed.length} wheels`} failed ${failed.length === 1 ? 'its test' : 'their tests'}, and a compose takes no wheel that did:\n` +
        failed.map((f) => `  ${f.package}: ${f.reason}`).join('\n'),
      `see why with ${failed.map((f) => `\`weld log --test ${f.package}\``).join(', ')}; fix the package (or its [test]) and build again`,
    );
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), compose: this.compose, failed: this.failed };
  }
}

export class MissingBuildsError extends WeldError {
  readonly code = 'E_COMPOSE_NOT_BUILT';
  /** the command line that builds them */
  readonly command: string;
  constructor(
    readonly compose: string,
    readonly missing: Array<{ package: string; reason: string }>,
    /** how `weld build` is spelled in the hint, e.g. with --ref */
    buildFlags: string[] = [],
    /** whether the compose verb has --build to build them itself */
    offerBuild = false,
  ) {
    const command = ['weld build', ...buildFlags, ...missing.map((m) => m.package)].join(' ');
    super(
      `compose "${compose}": ${missing.length === 1 ? 'a package has' : `${missing.length} packages have`} no build for the current metadata:\n` +
        missing.map((m) => `  ${m.package}: ${m.reason}`).join('\n'),
      `build them with \`${command}\`${offerBuild ? ', or compose with --build' : ''}`,
    );
    this.command = command;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), missing: this.missing, command: this.command };
  }
}

/**
 * A wheel that cannot go into a compose: not a wheel file name, not a readable zip, an
 * entry an installer must refuse, missing or lying metadata, two packages building it.
 */
export class WheelInvalidError extends WeldError {
  readonly code = 'E_WHEEL_INVALID';

  /** What an installer refuses in a wheel as built: the wheel, the entry (when one is to blame) and why. */
  static inWheel(wheel: string, entry: string | undefined, reason: string): WheelInvalidError {
    return new WheelInvalidError(
      `wheel ${wheel}${entry !== undefined ? `, entry ${JSON.stringify(entry)}` : ''}: ${reason}`,
      'the wheel is not installable as built; fix its build (or its recipe) and rebuild it',
    );
  }
}
