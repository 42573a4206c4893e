import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { build } from '../src/session/build.js';
import { openMetadata } from '../src/metadata/open.js';
import { formatLock } from '../src/metadata/lock-file.js';
import { inputsDigest } from '../src/mirror/inputs.js';
import { LocalRunner } from '../src/runner/local.js';
import type { Runner } from '../src/runner/runner.js';
import { ok } from '../src/core/result.js';
import { openStore, type Store } from '../src/store/store.js';
import type { BuildRecord } from '../src/store/records.js';
import type { Metadata } from '../src/metadata/model.js';
import { openSession } from '../src/session/session.js';
import { openMatrix, runMatrix } from '../src/session/matrix.js';
import { writeSyntheticDistro } from './synthetic-distro.js';
import { medians } from './timing.js';

// weld build benchmarks (issue 6):
//  1. a no-op `weld build --all` and `weld status` on a synthetic 1,000-package distro with
//     every build cached, against `weld check` on the same distro (goal ≤ 1.5×), and the
//     same at 10,000 packages, in ms per package (cost should grow linearly);
//     and a matrix of the 1,000 packages for two targets, against `weld check` per target
//     (issue 19, goal ≤ 1.5×);
//  2. the speed-up of --jobs 2 over --jobs 1 on independent real local wheel builds (goal ≥ 1.8×).

const repoRoot = path.resolve(import.meta.dirname, '../..');
const weld = path.join(repoRoot, 'bin/weld');
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b', GIT_AUTHOR_DATE: '@1700000000 +0000', GIT_COMMITTER_DATE: '@1700000000 +0000' } }).trim();

/** Fills the store the way real builds would, minus running recipes: outputs appear at once. */
function instantRunner(): Runner {
  const local = new LocalRunner();
  return {
    name: 'local',
    info: () => local.info(),
    run: async (spec) => {
      const pkg = spec.env['WELD_PACKAGE']!;
      const dir = path.join(spec.outDir, pkg.startsWith('pkg-') && spec.recipe.endsWith('autotools-pack.sh') ? 'prefix/lib' : 'wheels');
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, dir.endsWith('wheels') ? `${pkg.replace('-', '_')}-1.0-py3-none-any.whl` : `lib${pkg}.so`), pkg);
      return ok({ durationMs: 0 });
    },
  };
}

async function noOpBench(root: string, count: number, matrix = false): Promise<void> {
  writeSyntheticDistro({ root, repoRoot, count, depth: 20, matrix });
  // One real repository stands in for every mirror: the build reads a tree and a commit time.
  const work = path.join(root, 'src-work');
  mkdirSync(work);
  writeFileSync(path.join(work, 'README'), 'synthetic source\n');
  git(work, 'init', '-q', '-b', 'main');
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'source');
  const commit = git(work, 'rev-parse', 'HEAD');
  const tree = git(work, 'rev-parse', 'HEAD^{tree}');
  const bare = path.join(root, 'shared.git');
  git(root, 'clone', '-q', '--bare', work, bare);
  mkdirSync(path.join(root, 'mirrors'));
  const names = Array.from({ length: count }, (_, i) => `pkg-${String(i).padStart(4, '0')}`);
  for (const n of names) symlinkSync(bare, path.join(root, 'mirrors', `${n}.git`));
  // The lock's inputs must match the metadata, or builds refuse the package as stale.
  const unlocked = await openMetadata({ cwd: root, cache: false });
  if (!unlocked.ok) throw unlocked.error;
  const lock = Object.fromEntries(await Promise.all(names.map(async (n) => [n, { inputs: await inputsDigest({ metadata: unlocked.value, pkg: unlocked.value.packages.get(n)! }), upstream: commit, distro: commit, tree }] as const)));
  writeFileSync(path.join(root, 'metadata/weld.lock'), formatLock(lock));
  git(root, 'init', '-q', '-b', 'main');

  const md = await openMetadata({ cwd: root });
  if (!md.ok) throw md.error;
  const store = await openStore({ path: path.join(root, 'store') });
  if (!store.ok) throw store.error;
  const t0 = performance.now();
  const targets = md.value.distro.targets.length;
  if (matrix) {
    // Every target's builds, as `weld build --all` makes them (the pure wheels of the
    // instant recipe are built once and shared with the second target).
    const runs = openMatrix({ metadata: md.value, targets: md.value.distro.targets, packages: names, store: store.value, runner: instantRunner(), mirrorsDir: path.join(root, 'mirrors'), weldVersion: 'bench' });
    const filled = await runMatrix(runs, { mode: 'build', matrix: true, jobs: 8 });
    // (a key the two targets share is cached the second time)
    const made = filled.ok ? filled.value.built.length + filled.value.shared.length + filled.value.cached.length : 0;
    if (!filled.ok || made !== count * targets) throw new Error(`setting up the records failed: ${filled.ok ? JSON.stringify(filled.value.failed.slice(0, 3)) : filled.error.message}`);
  } else if (count <= 1000) {
    // Real builds (instant recipes): records exactly as weld writes them.
    const filled = await build({ metadata: md.value, store: store.value, runner: instantRunner(), mirrorsDir: path.join(root, 'mirrors'), targets: names, jobs: 8, weldVersion: 'bench' });
    if (!filled.ok || filled.value.built.length !== count) throw new Error(`setting up the records failed: ${filled.ok ? JSON.stringify(filled.value.failed.slice(0, 3)) : filled.error.message}`);
  } else {
    await writeRecordsDirectly({ metadata: md.value, store: store.value, mirrorsDir: path.join(root, 'mirrors'), names });
  }
  console.log(`set-up: ${count.toLocaleString('en')} records written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const m = medians(
    [
      { label: 'weld check', cmd: process.execPath, args: [weld, 'check'], cwd: root },
      { label: 'weld build --all (all cached)', cmd: process.execPath, args: [weld, 'build', '--all', '--runner', 'local'], cwd: root },
      { label: 'weld status', cmd: process.execPath, args: [weld, 'status', '--runner', 'local'], cwd: root },
    ],
    5,
  );
  const check = m.get('weld check')!;
  const noop = m.get('weld build --all (all cached)')!;
  const status = m.get('weld status')!;
  const per = (ms: number) => `${(ms / count).toFixed(3)} ms/package`;
  if (matrix) {
    // Issue 19's goal: the matrix no-op ≤ 1.5× weld check per target.
    const perTarget = (ms: number) => `${(ms / targets / check).toFixed(2)}× weld check per target (goal ≤ 1.5×)`;
    console.log(`${count.toLocaleString('en')} packages × ${targets} targets (${count * targets} builds):`);
    console.log(`  weld check                        ${check.toFixed(0).padStart(6)} ms`);
    console.log(`  weld build --all (all cached)     ${noop.toFixed(0).padStart(6)} ms   ${(noop / check).toFixed(2)}× weld check, ${perTarget(noop)}`);
    console.log(`  weld status                       ${status.toFixed(0).padStart(6)} ms   ${(status / check).toFixed(2)}× weld check, ${perTarget(status)}`);
    return;
  }
  console.log(`${count.toLocaleString('en')} packages:`);
  console.log(`  weld check                        ${check.toFixed(0).padStart(6)} ms   ${per(check)}`);
  console.log(`  weld build --all (all cached)     ${noop.toFixed(0).padStart(6)} ms   ${per(noop)}   ${(noop / check).toFixed(2)}× weld check (goal ≤ 1.5×)`);
  console.log(`  weld status                       ${status.toFixed(0).padStart(6)} ms   ${per(status)}   ${(status / check).toFixed(2)}× weld check (goal ≤ 1.5×)`);
}

/**
 * Records as a build would write them (keys from the session's own plan, a step at a
 * time), without running anything: building 10,000 packages one by one takes many minutes.
 */
async function writeRecordsDirectly(o: { metadata: Metadata; store: Store; mirrorsDir: string; names: string[] }): Promise<void> {
  const session = openSession({ metadata: o.metadata, store: o.store, runner: new LocalRunner(), mirrorsDir: o.mirrorsDir });
  const put = await session.storeInputs(o.names);
  if (!put.ok) throw put.error;
  for (;;) {
    const planned = await session.plan({ targets: o.names });
    if (!planned.ok) throw planned.error;
    const todo = [...planned.value].filter(([, e]) => e.state === 'build');
    if (todo.length === 0) return;
    const records = [];
    for (const [name, e] of todo) {
      if (e.state !== 'build') continue;
      const output = await o.store.put([Buffer.from(name)]);
      if (!output.ok) throw output.error;
      const at = new Date().toISOString();
      const data: BuildRecord = {
        cacheKey: e.key, package: name, version: e.inputs.version, release: 1, arch: e.inputs.arch, envImage: e.inputs.envImage, sourceTree: e.inputs.sourceTree,
        recipe: e.inputs.recipe, dependencies: e.inputs.deps, outputs: [{ name: `${name}.whl`, digest: output.value.digest, size: name.length }], log: null,
        timings: { startedAt: at, finishedAt: at, durationMs: 0 }, runner: 'local', weldVersion: 'bench', provenance: null,
        ...(e.inputs.repair ? { repair: { ...e.inputs.repair, report: null, wheels: [] } } : {}),
      };
      records.push({ kind: 'build' as const, id: e.key, data });
    }
    const w = await o.store.writeRecords(records);
    if (!w.ok) throw w.error;
  }
}

/**
 * Two kinds of independent builds: real wheels (CPU-bound, so bounded by what the host's
 * cores really give: measured alongside by two plain pip runs) and wait-bound builds
 * (a recipe that sleeps 1 s, as builds waiting on I/O do), which show weld's own scheduling.
 */
function parallelBench(root: string): void {
  const count = 6;
  mkdirSync(path.join(root, 'metadata/packages'), { recursive: true });
  mkdirSync(path.join(root, 'releases'));
  execFileSync('cp', ['-r', path.join(repoRoot, 'recipes'), path.join(repoRoot, 'metadata/envs'), root]);
  execFileSync('mv', [path.join(root, 'envs'), path.join(root, 'metadata/envs')]);
  writeFileSync(path.join(root, 'metadata/weld.toml'), '[distro]\nname = "par"\narch = "s390x"\nenv = "bookworm-s390x"\n');
  const staging = path.join(root, 'staging');
  for (let i = 0; i < count; i++) {
    const name = `par-${i}`;
    mkdirSync(staging, { recursive: true });
    execFileSync('cp', ['-r', path.join(repoRoot, 'test/fixtures/weldhello'), path.join(staging, `${name}-1.0`)]);
    const file = path.join(root, 'releases', `${name}-1.0.tar.gz`);
    tar.c({ gzip: true, file, cwd: staging, sync: true, portable: true, mtime: new Date('2023-03-01T12:00:00Z') }, [`${name}-1.0`]);
    const sha = execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]!;
    for (const [prefix, recipe] of [['par', 'python-wheel'], ['wait', 'sleep-wheel']] as const) {
      writeFileSync(path.join(root, 'metadata/packages', `${prefix}-${i}.toml`), `[package]\nname = "${prefix}-${i}"\nversion = "1.0"\n\n[upstream]\ntarball = "file://${file}"\nsha256 = "${sha}"\n\n[build]\nrecipe = "${recipe}"\n`);
    }
  }
  writeFileSync(path.join(root, 'recipes/sleep-wheel.sh'), '#!/bin/sh\nsleep 1\nmkdir -p "$WELD_OUT/wheels"\necho "$WELD_PACKAGE" > "$WELD_OUT/wheels/$WELD_PACKAGE-1.0-py3-none-any.whl"\n');
  execFileSync(process.execPath, [weld, 'mirror', '--all'], { cwd: root, stdio: 'ignore' });
  const fresh = () => rmSync(path.join(root, 'store'), { recursive: true, force: true });
  const pkgs = (prefix: string) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const pip = (n: number) => `cp -r ${path.join(repoRoot, 'test/fixtures/weldhello')} /tmp/weld-bench-pip-${n} && cd /tmp/weld-bench-pip-${n} && python3 -m pip wheel -q --no-index --no-build-isolation --no-deps --no-cache-dir --wheel-dir out . >/dev/null; rm -rf /tmp/weld-bench-pip-${n}`;
  const m = medians(
    [
      ...['par', 'wait'].flatMap((prefix) =>
        [1, 2].map((jobs) => ({ label: `${prefix} --jobs ${jobs}`, cmd: process.execPath, args: [weld, 'build', ...pkgs(prefix), '--jobs', String(jobs), '--runner', 'local'], cwd: root, before: fresh })),
      ),
      { label: 'pip x2 serial', cmd: '/bin/sh', args: ['-c', `${pip(1)}; ${pip(2)}`] },
      { label: 'pip x2 parallel', cmd: '/bin/sh', args: ['-c', `(${pip(3)}) & (${pip(4)}) & wait`] },
    ],
    3,
  );
  const row = (label: string, what: string) => {
    const one = m.get(`${label} --jobs 1`)!;
    const two = m.get(`${label} --jobs 2`)!;
    console.log(`${count} ${what}: --jobs 1 ${(one / 1000).toFixed(2)} s, --jobs 2 ${(two / 1000).toFixed(2)} s   speed-up ${(one / two).toFixed(2)}× (goal ≥ 1.8×)`);
  };
  row('par', 'independent real wheel builds');
  row('wait', 'independent wait-bound builds (recipe sleeps 1 s)');
  const serial = m.get('pip x2 serial')!;
  const parallel = m.get('pip x2 parallel')!;
  console.log(`host baseline, two plain pip wheel builds: serial ${(serial / 1000).toFixed(2)} s, parallel ${(parallel / 1000).toFixed(2)} s   speed-up ${(serial / parallel).toFixed(2)}× (${os.availableParallelism()} cores)`);
}

// WELD_BENCH_ONLY=noop|parallel runs one half; WELD_BENCH_KEEP=1 keeps the projects for profiling.
const only = process.env['WELD_BENCH_ONLY'];
const noopRoot = mkdtempSync(path.join(os.tmpdir(), 'weld-bench-build-'));
const parRoot = mkdtempSync(path.join(os.tmpdir(), 'weld-bench-par-'));
try {
  if (only !== 'parallel') {
    for (const count of (process.env['WELD_BENCH_SIZES'] ?? '1000,10000').split(',').map(Number)) {
      const dir = path.join(noopRoot, String(count));
      mkdirSync(dir);
      await noOpBench(dir, count);
    }
    // The same 1,000 packages for two targets (issue 19).
    const dir = path.join(noopRoot, 'matrix');
    mkdirSync(dir);
    await noOpBench(dir, Number(process.env['WELD_BENCH_MATRIX_SIZE'] ?? 1000), true);
  }
  if (only !== 'noop') parallelBench(parRoot);
} finally {
  if (process.env['WELD_BENCH_KEEP']) console.log(`kept: ${noopRoot} ${parRoot}`);
  else {
    rmSync(noopRoot, { recursive: true, force: true });
    rmSync(parRoot, { recursive: true, force: true });
  }
}
