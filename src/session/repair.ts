import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Runner, RunSpec } from '../runner/runner.js';
import type { Digest } from '../store/digest.js';
import type { RepairedWheel, RepairRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { writeRecipe, type RecipeBundle } from './recipes.js';

// The wheel repair step (README, "Wheel repair"): a second run in the builder, after
// the wheel recipe, of recipes/lib/repair-step.sh with the recipe's wheels as its
// read-only source and the recipe's dependency prefixes. Its wheels are what is stored.

export interface RepairOptions {
  runner: Runner;
  envName: string;
  step: RecipeBundle;
  policy: string;
  program: Digest;
  /** the recipe's $WELD_OUT/wheels */
  wheelsDir: string;
  /** a directory of this build's to work in */
  work: string;
  depDirs: string[];
  depNames: string[];
  /** WELD_PACKAGE, WELD_VERSION, SOURCE_DATE_EPOCH and the build vars, as the recipe had them */
  env: Record<string, string>;
  jobs: number;
  store: Store;
  /** the package's backend labels and where to report the run went */
  placement?: Pick<RunSpec, 'labels' | 'onPlaced'>;
  signal?: AbortSignal;
  onLog: (line: string) => void;
}

export type RepairResult = { ok: true; wheelsDir: string; record: RepairRecord } | { ok: false; reason: string; cancelled: boolean };

/** The platform tag of a wheel file name (the last dash-separated field). */
export function platformTag(wheel: string): string {
  return wheel.replace(/\.whl$/, '').split('-').at(-1) ?? '';
}

export async function repairWheels(o: RepairOptions): Promise<RepairResult> {
  const names = (await readdir(o.wheelsDir).catch(() => [] as string[])).filter((n) => n.endsWith('.whl')).sort();
  // Pure wheels have nothing to repair: no second container (seconds under emulation) for them.
  if (names.every((n) => platformTag(n) === 'any')) {
    const wheels: RepairedWheel[] = names.map((n) => ({ input: n, output: n, tag: 'any', action: 'kept', grafted: [], setBy: [] }));
    return { ok: true, wheelsDir: o.wheelsDir, record: { policy: o.policy, program: o.program, report: null, wheels } };
  }
  const out = path.join(o.work, 'repair-out');
  await mkdir(out, { recursive: true });
  const script = await writeRecipe({ bundle: o.step, dir: path.join(o.work, 'repair-step') });
  let reason: string | undefined;
  const ran = await o.runner.run({
    envName: o.envName,
    recipe: script,
    srcDir: o.wheelsDir,
    outDir: out,
    depDirs: o.depDirs,
    env: { ...o.env, WELD_REPAIR_POLICY: o.policy, WELD_DEP_NAMES: o.depNames.join(':') },
    jobs: o.jobs,
    ...(o.signal ? { signal: o.signal } : {}),
    onLog: (line) => {
      // The program's verdict is its last "wheel repair: …" line.
      if (line.startsWith('wheel repair: ')) reason = line;
      o.onLog(line);
    },
    ...(o.placement ?? {}),
  });
  if (!ran.ok) return { ok: false, reason: reason ?? `wheel repair: ${ran.error.reason}`, cancelled: ran.error.failure === 'aborted' };
  const reportFile = path.join(out, 'repair.json');
  let report: { wheels?: unknown };
  try {
    report = JSON.parse(await readFile(reportFile, 'utf8')) as { wheels?: unknown };
  } catch (e: unknown) {
    return { ok: false, reason: `wheel repair: the step exited 0 but left no readable repair.json (${e instanceof Error ? e.message : String(e)})`, cancelled: false };
  }
  if (!Array.isArray(report.wheels)) return { ok: false, reason: 'wheel repair: repair.json has no list of wheels', cancelled: false };
  const put = await o.store.put({ file: reportFile });
  if (!put.ok) return { ok: false, reason: `could not store the repair report: ${put.error.message}`, cancelled: false };
  const wheels = (report.wheels as Array<Record<string, unknown>>).map(abridge);
  return { ok: true, wheelsDir: path.join(out, 'wheels'), record: { policy: o.policy, program: o.program, report: put.value.digest, wheels } };
}

/** The record keeps what a reader of `weld show` needs; the blob keeps everything. */
function abridge(w: Record<string, unknown>): RepairedWheel {
  const grafted = Array.isArray(w['grafted']) ? (w['grafted'] as Array<Record<string, unknown>>) : [];
  return {
    input: String(w['input']),
    output: String(w['output']),
    tag: String(w['tag']),
    action: w['action'] === 'repaired' ? 'repaired' : 'kept',
    grafted: grafted.map((g) => ({ soname: String(g['soname']), file: String(g['file']), source: g['source'] as RepairedWheel['grafted'][number]['source'] })),
    setBy: Array.isArray(w['setBy']) ? (w['setBy'] as unknown[]).map(String) : [],
  };
}
