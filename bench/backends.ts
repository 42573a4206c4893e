// Backends benchmark (issue 17: "Two backends against one, on 8 independent builds:
// ≥ 1.8×"). Two real podman engines (`podman system service` on two sockets, storage of
// their own) with max_jobs = 4 each; `weld build --all --check --jobs 8` of 8 independent
// packages through a backends file listing one of them, then both, alternated in one run.
// --check makes every run build all 8 (it ignores the cache and compares with the records).
//
// This machine has 2 cores, and both engines share them: what two backends can gain here
// is not more hardware, it is the parallelism weld's dispatch extracts. So the recipes
// wait (sleep, BENCH_SLEEP seconds, default 30) instead of burning CPU, and the ratio
// measures how well weld keeps 8 slots on two engines busy against 4 on one, including
// its own per-build work on a remote engine (create, copy in, start attached, wait, copy
// out, remove).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { formatBackends, type BackendConfig } from '../src/runner/backends/config.js';
import { hostArch } from '../src/podman/arch.js';
import { buildProject } from '../test/helpers/build-project.js';
import { hostContainersConf, installTinyEnv, podmanService, type PodmanService } from '../test/helpers/podman-services.js';

const ROOT = process.cwd();
const WELD = path.join(ROOT, 'bin/weld');
const RUNS = Number(process.env['BENCH_RUNS'] ?? 2);
const SLEEP = Number(process.env['BENCH_SLEEP'] ?? 30);
const PACKAGES = 8;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const tmp = mkdtempSync(path.join(tmpdir(), 'weld-bench-backends-'));
const services: PodmanService[] = [];
try {
  const recipe = `echo "building $WELD_PACKAGE"\nsleep ${SLEEP}\nmkdir -p "$WELD_OUT/wheels"\necho "$WELD_PACKAGE" > "$WELD_OUT/wheels/$WELD_PACKAGE-1.0-py3-none-any.whl"\n`;
  const names = Array.from({ length: PACKAGES }, (_, i) => `p${i + 1}`);
  console.log(`bench:backends: ${PACKAGES} independent packages, each recipe sleeps ${SLEEP} s; two podman services on this host`);
  const project = await buildProject({ packages: names.map((name) => ({ name, recipe: 'sleepy', files: { README: `${name}\n` } })), recipes: { sleepy: recipe } });
  await installTinyEnv({ root: project.root, dir: tmp, distro: '\n[sources]\nallow_paths = ["../releases"]\n' });
  const podmanEnv = hostContainersConf(project.root);
  services.push(...(await Promise.all(['a', 'b'].map((name) => podmanService({ dir: tmp, name, env: podmanEnv })))));
  const backend = (s: PodmanService): BackendConfig => ({ name: s.name, url: s.url, arch: hostArch(), labels: {}, maxJobs: 4 });
  const files = { one: path.join(tmp, 'one.toml'), two: path.join(tmp, 'two.toml') };
  writeFileSync(files.one, formatBackends([backend(services[0]!)]));
  writeFileSync(files.two, formatBackends(services.map(backend)));
  const env = { ...process.env, WELD_STORE: path.join(project.root, 'store') };
  const build = (file: string): number => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [WELD, 'build', '--all', '--check', '--jobs', String(PACKAGES), '--backends', file], { cwd: project.root, env, encoding: 'utf8', maxBuffer: 1 << 26 });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`weld build failed (${r.status}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
    const placed = [...r.stdout.matchAll(/^p\d+: build on backend (\w+)$/gm)].map((m) => m[1]);
    if (placed.length !== PACKAGES) throw new Error(`expected ${PACKAGES} placements, saw ${placed.length}:\n${r.stdout.slice(-2000)}`);
    return s;
  };
  // Warm-up: records for --check to compare with, and the env image loaded on both engines.
  console.log('warm-up (records, env image onto both engines)…');
  build(files.two);
  build(files.two);
  const times = { one: [] as number[], two: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    times.one.push(build(files.one));
    times.two.push(build(files.two));
    console.log(`  run ${i + 1}: one backend ${times.one.at(-1)!.toFixed(1)} s, two backends ${times.two.at(-1)!.toFixed(1)} s`);
  }
  const one = median(times.one);
  const two = median(times.two);
  const ideal = Math.ceil(PACKAGES / 4) * SLEEP;
  console.log(`one backend (max_jobs 4): ${one.toFixed(1)} s   (the sleeps alone: ${ideal} s)`);
  console.log(`two backends (4 + 4):     ${two.toFixed(1)} s   (the sleeps alone: ${SLEEP} s)`);
  console.log(`ratio one/two: ${(one / two).toFixed(2)}×  (goal ≥ 1.8×; the sleeps alone would give ${(ideal / SLEEP).toFixed(2)}×)`);
  console.log(`weld's cost per wave of builds (time beyond the sleeps): one backend ${((one - ideal) / Math.ceil(PACKAGES / 4)).toFixed(1)} s per wave of 4, two backends ${(two - SLEEP).toFixed(1)} s for the wave of 8`);
  console.log(`load average when done: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (other work on this machine slows the podman steps)`);
  console.log('note: both engines run on this one 2-core machine, so the ratio measures the parallelism weld\'s dispatch extracts (recipes that wait), not more hardware.');
  project.cleanup();
} finally {
  await Promise.all(services.map((s) => s.stop()));
  rmSync(tmp, { recursive: true, force: true });
}
