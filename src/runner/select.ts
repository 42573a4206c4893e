import path from 'node:path';
import { UsageError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import type { Runner, RunnerContext } from './runner.js';
import { closest } from '../util/suggest.js';

// The one place that picks a runner, once the metadata and store it needs are open.
// Each loads only when picked: the podman runner brings the env stack (decompressors,
// OCI writers) that a local build never needs.
const RUNNERS: Record<string, (context: RunnerContext) => Promise<Runner>> = {
  // With backends configured they build; with none, this host's podman, exactly as before there were backends.
  podman: async (context) => (context.pool && context.pool.size > 0 ? new (await import('./backends/pool-runner.js')).PoolRunner({ pool: context.pool, context }) : new (await import('./podman.js')).PodmanBuildRunner(context)),
  // Its host description is cached beside the project's other caches, so a no-op spawns no probes.
  local: async (context) => new (await import('./local.js')).LocalRunner({ cacheDir: path.join(context.metadata.root, '.weld', 'cache') }),
};

export const RUNNER_NAMES = Object.keys(RUNNERS);

/** An unknown runner name, refused before anything is opened. */
export function checkRunnerName(name: string): Result<string, UsageError> {
  if (RUNNERS[name]) return ok(name);
  const guess = closest(name, RUNNER_NAMES);
  return err(new UsageError(`unknown runner "${name}"; ${guess ? `did you mean "${guess}"? ` : ''}known runners: ${RUNNER_NAMES.join(', ')}`, 'pass --runner (or set WELD_RUNNER) to one of them'));
}

export async function selectRunner(opts: { name: string; context: RunnerContext }): Promise<Result<Runner, UsageError>> {
  const name = checkRunnerName(opts.name);
  if (!name.ok) return name;
  return ok(await RUNNERS[name.value]!(opts.context));
}
