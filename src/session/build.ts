import type { WeldError } from '../core/errors.js';
import type { Result } from '../core/result.js';
import type { Store } from '../store/store.js';
import type { BuildSummary } from './executor.js';
import { openSession, type SessionBuildOptions, type SessionOptions } from './session.js';

/** What `weld build` is asked for, in one object. */
export type BuildOptions = SessionOptions & SessionBuildOptions & { store: Store };

/** `weld build` as one library call: a session for just this build. */
export function build(o: BuildOptions): Promise<Result<BuildSummary, WeldError>> {
  const { targets, jobs, check, keepFailed, workRoot, signal, onEvent, ...session } = o;
  return openSession(session).build({ targets, ...(jobs !== undefined ? { jobs } : {}), ...(check ? { check } : {}), ...(keepFailed ? { keepFailed } : {}), ...(workRoot ? { workRoot } : {}), ...(signal ? { signal } : {}), ...(onEvent ? { onEvent } : {}) });
}

export { logsDirOf } from './logs.js';
