import { UsageError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import { LocalRunner } from './local.js';
import type { Runner } from './runner.js';

// The one place that picks a runner. The podman runner joins this table.
const RUNNERS: Record<string, () => Runner> = {
  local: () => new LocalRunner(),
};

export const RUNNER_NAMES = Object.keys(RUNNERS);

export function selectRunner(opts: { name: string }): Result<Runner, UsageError> {
  const make = RUNNERS[opts.name];
  if (!make) return err(new UsageError(`unknown runner "${opts.name}"; known runners: ${RUNNER_NAMES.join(', ')}`, 'pass --runner with one of them'));
  return ok(make());
}
