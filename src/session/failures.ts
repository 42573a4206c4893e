import { WeldError } from '../core/errors.js';
import type { NotBuildableError } from '../plan/problems.js';
import type { RunFailedError } from '../runner/runner.js';
import type { IndexError } from '../store/store.js';

// One failure of one package is one typed error, from where it happens to the event, the
// summary, `--json` and the exit status: codes survive the whole way (no string `reason`).

/** A step of the build around the recipe failed: the source, a dependency, the store. */
export class BuildStepError extends WeldError {
  readonly code = 'E_BUILD_STEP';
  constructor(
    readonly step: 'source' | 'dependency' | 'outputs' | 'log' | 'provenance' | 'record' | 'internal',
    message: string,
    hint?: string,
  ) {
    super(message, hint);
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), step: this.step };
  }
}

/** The wheel repair step failed, or its report could not be read or stored. */
export class RepairFailedError extends WeldError {
  readonly code = 'E_REPAIR_FAILED';
}

/** The wheel built, but its test (imports, commands) failed in the runtime env: the package fails. */
export class TestFailedError extends WeldError {
  readonly code = 'E_TEST_FAILED';
  constructor(
    message: string,
    /** the test record that keeps the failure and its log (absent when it could not be written) */
    readonly testKey?: string,
  ) {
    super(message);
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), ...(this.testKey ? { testKey: this.testKey } : {}) };
  }
}

/** Ctrl-C (or a cancelled job) stopped the build; nothing was recorded. */
export class BuildCancelledError extends WeldError {
  readonly code = 'E_BUILD_CANCELLED';
  constructor() {
    super('cancelled');
  }
}

/** Not built because a build dependency did not build. */
export class DependencyFailedError extends WeldError {
  readonly code = 'E_DEPENDENCY_FAILED';
  constructor(readonly dependencies: string[]) {
    super(`dependency ${dependencies.join(', ')} did not build`);
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), dependencies: this.dependencies };
  }
}

/** Why a package failed. */
export type BuildFailure = RunFailedError | NotBuildableError | BuildStepError | RepairFailedError | TestFailedError | BuildCancelledError | IndexError;

/** Why a package was skipped. */
export type SkipReason = DependencyFailedError | BuildCancelledError;
