import { inject } from 'vitest';

/** The process env for e2e weld runs: the shared store and mirrors (see global-setup.ts). */
export function sharedEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, WELD_STORE: inject('e2eStore'), WELD_MIRRORS: inject('e2eMirrors'), ...extra };
}
