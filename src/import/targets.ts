import { err, ok, type Result } from '../core/result.js';
import { upstreamVersion } from '../mirror/debian/sources-index.js';
import type { Env, Metadata } from '../metadata/model.js';
import { ImportTargetError } from './errors.js';
import { markerEnvironment, type MarkerEnvironment } from './pep508.js';

/** One place a wheel will be built: a builder env, its Python, the distro's arch. */
export interface Target {
  env: Env;
  /** x.y.z of the env's python3 */
  python: string;
  markers: MarkerEnvironment;
}

/**
 * The distro's builder envs, each with the Python its lock pins: markers are evaluated
 * for each, and a requirement holds when it holds on any of them.
 */
export function buildTargets(metadata: Metadata): Result<Target[], ImportTargetError> {
  const builders = [...metadata.envs.values()].filter((e) => e.kind === 'builder').sort((a, b) => (a.name === metadata.distro.defaultEnv ? -1 : b.name === metadata.distro.defaultEnv ? 1 : a.name < b.name ? -1 : 1));
  if (builders.length === 0) return err(new ImportTargetError('the distro has no builder env, so there is no Python to evaluate markers for', 'add metadata/envs/<env>.toml with kind = "builder"'));
  const out: Target[] = [];
  for (const env of builders) {
    const deb = env.lock?.debs.find((d) => d.name === 'python3');
    if (!deb) {
      return err(
        new ImportTargetError(
          env.lock ? `builder env ${env.name}: its lock has no python3, so its Python version is unknown` : `builder env ${env.name} has no lock, so its Python version is unknown`,
          env.lock ? `add python3 to ${env.file} and run weld env lock ${env.name}` : `run weld env lock ${env.name}`,
        ),
      );
    }
    const python = upstreamVersion(deb.version);
    if (!/^\d+\.\d+(\.\d+)?$/.test(python)) return err(new ImportTargetError(`builder env ${env.name}: python3 ${deb.version} is not a Python version weld can read`));
    out.push({ env, python, markers: markerEnvironment({ arch: metadata.distro.arch, pythonVersion: python }) });
  }
  return ok(out);
}
