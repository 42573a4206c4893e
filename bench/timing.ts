import { spawnSync } from 'node:child_process';

export interface Case {
  label: string;
  cmd: string;
  args: string[];
  cwd?: string;
  /** runs before every timed run, untimed (e.g. to drop a cache) */
  before?: () => void;
}

/**
 * Runs every case `runs` times, round-robin so that machine noise spreads evenly,
 * and returns the median wall time of each in milliseconds. A case that fails aborts.
 */
export function medians(cases: Case[], runs: number): Map<string, number> {
  const samples = new Map<string, number[]>(cases.map((c) => [c.label, []]));
  for (let i = 0; i < runs; i++) {
    for (const c of cases) {
      c.before?.();
      const t0 = process.hrtime.bigint();
      const r = spawnSync(c.cmd, c.args, { cwd: c.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${c.label} failed (${r.status}): ${r.stderr}`);
      samples.get(c.label)!.push(ms);
    }
  }
  return new Map([...samples].map(([k, v]) => [k, v.sort((a, b) => a - b)[Math.floor(v.length / 2)]!]));
}
