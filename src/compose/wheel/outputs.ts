import { err, ok, type Result } from '../../core/result.js';
import type { BuildRecord } from '../../store/records.js';
import { WheelInvalidError } from '../errors.js';
import { parseWheelName, type WheelName } from './name.js';

export type BuildOutput = BuildRecord['outputs'][number];

/** A build's wheels: its `.whl` outputs, each named by PEP 427; a build with none has no place in a compose. */
export function wheelOutputs(pkg: string, record: BuildRecord): Result<Array<{ output: BuildOutput; name: WheelName }>, WheelInvalidError> {
  const wheels = record.outputs.filter((x) => x.name.endsWith('.whl'));
  if (wheels.length === 0) return err(new WheelInvalidError(`${pkg}: its build (${record.cacheKey.slice(7, 19)}) has no wheel among its outputs (${record.outputs.map((x) => x.name).join(', ') || 'none'})`, 'only wheel packages go into a compose; check what the recipe leaves in $WELD_OUT/wheels/'));
  const out: Array<{ output: BuildOutput; name: WheelName }> = [];
  for (const output of wheels) {
    const name = parseWheelName(output.name);
    if (!name) return err(new WheelInvalidError(`${pkg}: "${output.name}" is not a wheel file name (<dist>-<version>-<python>-<abi>-<platform>.whl, PEP 427)`, 'check what the recipe leaves in $WELD_OUT/wheels/'));
    out.push({ output, name });
  }
  return ok(out);
}
