// Wheelhouse benchmark: compose 1,000 synthetic wheels from a real store (build records,
// hard links, METADATA read out of every zip, PEP 658 files, HTML + JSON pages, manifest,
// SBOM, the compose record) against `cp -r` of the same wheel files. Only the first of the
// seven composes finds no METADATA and pages in the store (later ones link them, as a
// re-compose of a distro mostly does): it is printed on its own as well. Two corpora: wheels of
// realistic sizes (10 KiB – 2 MiB) and tiny ones (where file count is everything).
// Prints medians and ratios; nothing here is a pass/fail test.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { composeWheelhouse, type WheelhouseBuild } from '../src/compose/wheelhouse/compose.js';
import { digestBytes, type Digest } from '../src/store/digest.js';
import type { BuildRecord } from '../src/store/records.js';
import { openStore, type Store } from '../src/store/store.js';

const WHEELS = 1000;
const RUNS = 7;

// Python's zipfile writes the wheels: real zips with a real METADATA each.
const MAKE_WHEELS = `
import os, random, sys, zipfile
out, n, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(7)
pool = os.urandom(hi + 1)
for i in range(n):
    name, ver = f"Synth_Pkg{i}", f"1.{i % 7}.0"
    size = int(lo * (hi / lo) ** rnd.random())
    meta = f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {ver}\\nRequires-Python: >=3.{i % 12}\\nSummary: synthetic {i}\\n\\nbody\\n"
    with zipfile.ZipFile(os.path.join(out, f"{name}-{ver}-py3-none-any.whl"), "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"synth_pkg{i}/__init__.py", "x = 1\\n")
        z.writestr(f"synth_pkg{i}/data.bin", str(i).encode() + pool[:size])
        z.writestr(f"{name}-{ver}.dist-info/METADATA", meta)
        z.writestr(f"{name}-{ver}.dist-info/WHEEL", "Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
`;

async function storeWith(o: { dir: string; src: string }): Promise<{ store: Store; builds: WheelhouseBuild[]; bytes: number }> {
  const opened = await openStore({ path: path.join(o.dir, 'store'), create: true });
  if (!opened.ok) throw opened.error;
  const store = opened.value;
  const files = readdirSync(o.src).sort();
  const put = await store.putFiles({ files: files.map((f) => path.join(o.src, f)) });
  // Records name an env image and a recipe that must be blobs of the store.
  const env = await store.put([Buffer.from('bench env image')]);
  const recipe = await store.put([Buffer.from('bench recipe')]);
  if (!env.ok || !recipe.ok) throw new Error('put failed');
  const builds: WheelhouseBuild[] = [];
  let bytes = 0;
  put.forEach(({ result: r }, i) => {
    if (!r.ok) throw r.error;
    const name = files[i]!;
    const pkg = `synth-pkg${i}`;
    const record: BuildRecord = {
      cacheKey: digestBytes(`bench key ${i}`),
      package: pkg,
      version: '1.0',
      release: 1,
      arch: 's390x',
      envImage: env.value.digest,
      sourceTree: '0'.repeat(40),
      recipe: { name: 'python-wheel', digest: recipe.value.digest },
      dependencies: {},
      outputs: [{ name, digest: r.value.digest as Digest, size: r.value.size }],
      log: null,
      timings: { startedAt: '2024-01-01T00:00:00Z', finishedAt: '2024-01-01T00:00:01Z', durationMs: 1000 },
      runner: 'bench',
      weldVersion: '0',
      provenance: null,
    };
    bytes += r.value.size;
    builds.push({ package: pkg, record, sourceCommit: null, license: 'MIT', runtimeRequires: i > 0 ? [`synth-pkg${i - 1}`] : [] });
  });
  const w = await store.writeRecords(builds.map((b) => ({ kind: 'build' as const, id: b.record.cacheKey, data: b.record })));
  if (!w.ok) throw w.error;
  return { store, builds, bytes };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function corpus(label: string, lo: number, hi: number): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'weld-bench-wheelhouse-'));
  try {
    const src = path.join(dir, 'src');
    spawnSync('mkdir', ['-p', src]);
    const made = spawnSync('python3', ['-c', MAKE_WHEELS, src, String(WHEELS), String(lo), String(hi)], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (made.status !== 0) throw new Error('python3 could not write the wheels');
    const { store, builds, bytes } = await storeWith({ dir, src });
    const out = path.join(dir, 'out', 'wheelhouse');
    const copy = path.join(dir, 'copy');
    const compose: number[] = [];
    const cp: number[] = [];
    let linked = 0;
    // Round-robin, so machine noise spreads over both.
    for (let i = 0; i < RUNS; i++) {
      rmSync(out, { recursive: true, force: true });
      let t = performance.now();
      const r = await composeWheelhouse({ store, name: 'bench', out, builds, tool: { name: 'weld', version: 'bench' } });
      compose.push(performance.now() - t);
      if (!r.ok) throw r.error;
      linked = r.value.linked;
      rmSync(copy, { recursive: true, force: true });
      t = performance.now();
      const c = spawnSync('cp', ['-r', src, copy]);
      cp.push(performance.now() - t);
      if (c.status !== 0) throw new Error('cp failed');
    }
    // A re-compose over an existing tree also moves the old one away and deletes it.
    const again: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      const r = await composeWheelhouse({ store, name: 'bench', out, builds, tool: { name: 'weld', version: 'bench' } });
      again.push(performance.now() - t);
      if (!r.ok) throw r.error;
    }
    const c = median(compose);
    const p = median(cp);
    console.log(`${label}: ${WHEELS} wheels, ${(bytes / 2 ** 20).toFixed(0)} MiB; ${linked} hard-linked`);
    console.log(`  compose wheelhouse   ${c.toFixed(0).padStart(6)} ms   (re-compose over the old tree ${median(again).toFixed(0)} ms)`);
    // The first compose of a store reads every METADATA out of its zip and takes the pages in; later ones link them.
    console.log(`  first compose        ${compose[0]!.toFixed(0).padStart(6)} ms   (a store that has not seen these wheels composed)`);
    console.log(`  cp -r                ${p.toFixed(0).padStart(6)} ms`);
    console.log(`  ratio compose / cp   ${(c / p).toFixed(2)}×   (goal ≤ 2×)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await corpus('realistic sizes (10 KiB – 2 MiB)', 10 * 1024, 2 * 2 ** 20);
await corpus('tiny wheels (~1 KiB)', 512, 1024);
