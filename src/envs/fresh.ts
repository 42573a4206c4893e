import { err, ok, type Result } from '../core/result.js';
import type { Env, EnvLock } from '../metadata/model.js';
import { EnvLockStaleError, EnvNotLockedError } from './errors.js';
import { envInputsDigest } from './inputs.js';

/** The env's lock, if it was written from the env file as it is now. */
export function requireFreshLock(env: Env): Result<EnvLock, EnvNotLockedError | EnvLockStaleError> {
  const lock = env.lock;
  if (!lock || lock.debs.length === 0) return err(new EnvNotLockedError(env.name));
  if (lock.inputs !== envInputsDigest(env)) return err(new EnvLockStaleError(env.name, 'the env file changed (packages, suite, components or arch) since the lock was written'));
  return ok(lock);
}
