// Wheel repair benchmark: recipes/lib/repair_wheel.py on a host-built wheel (a CPython
// extension + the library it grafts) against the floor any Python step pays (starting
// python3 and importing pyelftools), and against policy none (analysis, no rewrite).
// Needs gcc, Debian's python3 with pyelftools, and patchelf (as the unit tests do).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildDemoLib, buildDemoWheel, PYTHON } from '../test/helpers/cext.js';
import { medians } from './timing.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 9);
const PROGRAM = path.join(process.cwd(), 'recipes/lib/repair_wheel.py');

function main(): void {
  const work = mkdtempSync(path.join(tmpdir(), 'weld-bench-repair-'));
  try {
    const prefix = buildDemoLib(path.join(work, 'dep'));
    const wheel = buildDemoWheel({ dir: work, prefix, getrandom: true });
    const repair = (policy: string) => [PROGRAM, '--policy', policy, '--deps', prefix, '--out', path.join(work, `out-${policy}`), '--report', path.join(work, `${policy}.json`), wheel];
    const t = medians(
      [
        { label: 'python3 + import elftools', cmd: PYTHON, args: ['-c', 'import elftools.elf.elffile, zipfile'] },
        { label: 'repair, policy none', cmd: PYTHON, args: repair('none') },
        { label: 'repair, policy manylinux', cmd: PYTHON, args: repair('manylinux') },
      ],
      RUNS,
    );
    const floor = t.get('python3 + import elftools')!;
    for (const [label, ms] of t) console.log(`${label.padEnd(28)} ${ms.toFixed(1).padStart(7)} ms  ${(ms / floor).toFixed(2)}× the floor`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main();
