import { err } from '../../core/result.js';
import { RunFailedError, type Runner, type RunSpec } from '../runner.js';

/**
 * A runner whose every run also asks for `selector`'s labels (`weld build
 * --backend-selector`, a job's selector), on top of the package's own `[build] labels`.
 * A package that asks for another value of the same label cannot be placed: said so.
 */
export function withSelector(runner: Runner, selector: Record<string, string>): Runner {
  if (!Object.keys(selector).length) return runner;
  return {
    name: runner.name,
    info: (o) => runner.info(o),
    run: async (spec: RunSpec) => {
      const own = spec.labels ?? {};
      const clash = Object.entries(selector).find(([k, v]) => own[k] !== undefined && own[k] !== v);
      if (clash) return err(new RunFailedError('spawn', `the backend selector asks for ${clash[0]}=${clash[1]}, but the package's [build] labels say ${clash[0]}=${own[clash[0]]}; no backend can be both`));
      return runner.run({ ...spec, labels: { ...own, ...selector } });
    },
  };
}
