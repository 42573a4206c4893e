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
  constructor(readonly failing: string[], fixable: boolean) {
    super(`the host is not ready for builds: ${failing.join(', ')}`);
    this.hint = fixable ? 'run the fix commands above, or `weld doctor --fix` as root' : 'see the details above';
  }
}
