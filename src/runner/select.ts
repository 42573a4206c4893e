import { UsageError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import type { RunnerContext } from './podman.js';
import type { Runner } from './runner.js';
import { closest } from '../util/suggest.js';

export type { RunnerContext };

// The one place that picks a runner. The context (metadata, store) is read when a
// runner is first used, so a command can pick one, let it warm up, and load the rest.
// Each loads only when picked: the podman runner brings the env stack (decompressors,
// OCI writers) that a local build never needs.
const RUNNERS: Record<string, (context: () => RunnerContext) => Promise<Runner>> = {
  podman: async (context) => new (await import('./podman.js')).PodmanBuildRunner(context),
  local: async () => new (await import('./local.js')).LocalRunner(),
};

export const RUNNER_NAMES = Object.keys(RUNNERS);

export async function selectRunner(opts: { name: string; context: () => RunnerContext }): Promise<Result<Runner, UsageError>> {
  const make = RUNNERS[opts.name];
  if (!make) {
    const guess = closest(opts.name, RUNNER_NAMES);
    return err(new UsageError(`unknown runner "${opts.name}"; ${guess ? `did you mean "${guess}"? ` : ''}known runners: ${RUNNER_NAMES.join(', ')}`, 'pass --runner (or set WELD_RUNNER) to one of them'));
  }
  return ok(await make(opts.context));
}
