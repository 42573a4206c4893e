import { WeldError } from '../../core/errors.js';

/** A wheel in the store cannot go into an index: bad file name, no or bad METADATA, a name clash. */
export class WheelInvalidError extends WeldError {
  readonly code = 'E_WHEEL_INVALID';
}

/** The output directory cannot be written or replaced. */
export class WheelhouseOutError extends WeldError {
  readonly code = 'E_WHEELHOUSE_OUT';
}

/** `weld serve` cannot serve: no wheelhouse there, or the port cannot be bound. */
export class ServeError extends WeldError {
  readonly code = 'E_SERVE';
}
