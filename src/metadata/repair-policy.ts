// Wheel repair policies (README, "Wheel repair"): what recipes/lib/repair_wheel.py is
// asked to make of a freshly built wheel. One check for metadata and `--repair-policy`.

import { quote } from '../core/diagnostics.js';

export const REPAIR_DEFAULT = 'manylinux';

/** manylinux_2_28_s390x, or a legacy alias such as manylinux2014_s390x */
const FIXED = /^(?:manylinux_2_\d+|manylinux1|manylinux2010|manylinux2014)_[a-z0-9_]+$/;

/** Why `value` is not a repair policy, or undefined when it is one. */
export function repairPolicyProblem(value: string): string | undefined {
  if (value === 'manylinux' || value === 'none' || FIXED.test(value)) return undefined;
  return `repair policy ${quote(value)} is not one of "manylinux" (the most compatible tag the wheel allows), "none" (keep linux_<arch>) or a manylinux platform tag such as "manylinux_2_28_s390x"`;
}
