import { WeldError } from '../../core/errors.js';

/** The output directory cannot be written or replaced. */
export class WheelhouseOutError extends WeldError {
  readonly code = 'E_WHEELHOUSE_OUT';
}

/** `weld serve` cannot serve: no wheelhouse there, or the port cannot be bound. */
export class ServeError extends WeldError {
  readonly code = 'E_SERVE';
}
