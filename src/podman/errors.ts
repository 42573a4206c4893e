import { WeldError } from '../core/errors.js';

export class PodmanNotFoundError extends WeldError {
  readonly code = 'E_PODMAN_NOT_FOUND';
  constructor() {
    super('podman is not installed (not on PATH)');
    this.hint = 'run `weld doctor` to see what is missing, or `weld doctor --fix` as root to install it';
  }
}

/** podman ran and failed; the end of its output says why. */
export class PodmanFailedError extends WeldError {
  readonly code = 'E_PODMAN_FAILED';
  constructor(
    readonly what: string,
    readonly exitCode: number | null,
    readonly output: string,
  ) {
    super(`podman ${what} failed (exit ${exitCode ?? 'signal'}): ${output.trim().split('\n').slice(-5).join('\n') || 'no output'}`);
    this.hint = 'run `weld doctor` to check the host set-up (runtime, binfmt, qemu)';
  }
}

/** `weld doctor` found something builds need that is missing. */
export class HostNotReadyError extends WeldError {
  readonly code = 'E_HOST_NOT_READY';
  readonly failing: string[];
  /** every check, so `--json` has in its one error line what the text shows above it */
  readonly checks: unknown[];
  constructor(opts: { failing: string[]; fixable: boolean; purpose?: string; fixCommand?: string; checks?: unknown[] }) {
    super(`the host is not ready for ${opts.purpose ?? 'builds'}: ${opts.failing.join(', ')}`);
    this.failing = opts.failing;
    this.checks = opts.checks ?? [];
    // Without a fix command there is nothing to add to the checks' own details.
    if (opts.fixable) this.hint = `run the fix commands above as root, or \`${opts.fixCommand ?? 'weld doctor --fix'}\` as root`;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), failing: this.failing, ...(this.checks.length ? { checks: this.checks } : {}) };
  }
}
