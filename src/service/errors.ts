import { WeldError } from '../core/errors.js';

// The service's failures, each with weld's stable code and the HTTP status the API answers
// with: one class per kind, so the route code never picks a status by hand.

export abstract class ServiceError extends WeldError {
  abstract readonly status: number;
}

/** The request itself is wrong: a field, a parameter, the body. */
export class BadRequestError extends ServiceError {
  readonly code = 'E_BAD_REQUEST';
  readonly status = 400;
  constructor(
    message: string,
    readonly field?: string,
    hint?: string,
  ) {
    super(message, hint);
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), ...(this.field ? { field: this.field } : {}) };
  }
}

export class UnauthorizedError extends ServiceError {
  readonly code = 'E_UNAUTHORIZED';
  readonly status = 401;
}

export class ForbiddenError extends ServiceError {
  readonly code: string = 'E_FORBIDDEN';
  readonly status = 403;
}

/** A repository the server's allow-list does not name. */
export class RepositoryNotAllowedError extends ForbiddenError {
  override readonly code = 'E_REPOSITORY_NOT_ALLOWED';
}

export class NotFoundError extends ServiceError {
  readonly code: string = 'E_NOT_FOUND';
  readonly status = 404;
}

/** The ref of a job is in no branch, tag or commit of its repository. */
export class RefNotFoundError extends NotFoundError {
  override readonly code = 'E_REF_NOT_FOUND';
}

/** An identical job (same commit, packages, composes, options) is waiting or building. */
export class DuplicateJobError extends ServiceError {
  readonly code = 'E_DUPLICATE_JOB';
  readonly status = 409;
  constructor(readonly existing: string) {
    super(`an identical job is already waiting or building: ${existing}`, `follow it (weld remote wait ${existing}), or cancel it first`);
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), job: this.existing };
  }
}

/** The job is in a state that does not allow what was asked (canceling a finished job). */
export class JobStateError extends ServiceError {
  readonly code = 'E_JOB_STATE';
  readonly status = 409;
}

/** The repository could not be fetched (network, a broken remote). */
export class FetchFailedError extends ServiceError {
  readonly code = 'E_FETCH_FAILED';
  readonly status = 502;
}

/** The server is draining (SIGTERM) and takes no new jobs. */
export class DrainingError extends ServiceError {
  readonly code = 'E_DRAINING';
  readonly status = 503;
  constructor() {
    super('the server is shutting down and takes no new jobs', 'submit again once it is back');
  }
}

/** The state directory or config cannot be used. */
export class ServiceConfigError extends WeldError {
  readonly code = 'E_SERVICE_CONFIG';
}

/** The job store (LevelDB under the state dir) failed. */
export class JobStoreError extends WeldError {
  readonly code = 'E_JOB_STORE';
}
