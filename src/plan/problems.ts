import { WeldError } from '../core/errors.js';

/** Why a package has no cache key (so cannot build): a stable code per cause. */
export type NotBuildableCode = 'E_NOT_MIRRORED' | 'E_LOCK_STALE' | 'E_NO_ENV_IMAGE' | 'E_NO_RECIPE' | 'E_NO_DISTRO_COMMIT' | 'E_NO_REPAIR_PROGRAM' | 'E_NOT_BUILT';

/** What the plan found missing, as the typed error the build reports. */
export class NotBuildableError extends WeldError {
  constructor(
    readonly code: NotBuildableCode,
    message: string,
  ) {
    super(message);
  }
}
