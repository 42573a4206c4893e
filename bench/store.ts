// Store benchmark: ingest of ~1 GiB in ~5,000 files against openssl and cp over the same
// files (page cache warm, same run), re-ingest, and index look-ups on 100,000 records.
// Prints figures and ratios; nothing here is a pass/fail test.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { digestBytes, type Digest } from '../src/store/digest.js';
import type { RecordInput } from '../src/store/index.js';
import { openStore, type Store } from '../src/store/store.js';

const MiB = 1 << 20;
const FILES = 5000;
const TARGET = 1024 * MiB;

function corpus(dir: string): { files: string[]; bytes: number } {
  // One random pool; each file is a slice of it behind a unique header, so every file
  // has its own digest without paying for 1 GiB of randomness.
  const pool = randomBytes(128 * MiB);
  const sizes: number[] = [];
  const big = [100, 90, 80, 70, 60, 50, 40, 30, 20, 10].map((m) => m * MiB);
  for (let i = 0; i < FILES - big.length; i++) sizes.push(Math.floor(Math.exp(Math.log(8) + Math.random() * (Math.log(2 * MiB) - Math.log(8)))));
  const small = sizes.reduce((a, b) => a + b, 0);
  let room = TARGET - small;
  for (const b of big) {
    const s = Math.max(4096, Math.min(b, room));
    sizes.push(s);
    room -= s;
  }
  const files: string[] = [];
  let bytes = 0;
  sizes.forEach((size, i) => {
    const sub = path.join(dir, String(i % 50));
    if (i < 50) mkdirSync(sub, { recursive: true });
    const f = path.join(sub, `f${i}.bin`);
    const header = Buffer.from(`file ${i} `);
    const off = Math.floor(Math.random() * (pool.length - Math.min(size, 100 * MiB)));
    const bodyLen = Math.max(0, size - header.length);
    const parts = [header];
    for (let left = bodyLen, o = off; left > 0; ) {
      const n = Math.min(left, pool.length - o);
      parts.push(pool.subarray(o, o + n));
      left -= n;
      o = 0;
    }
    writeFileSync(f, Buffer.concat(parts).subarray(0, Math.max(size, 1)));
    files.push(f);
    bytes += Math.max(size, 1);
  });
  return { files, bytes };
}

function seconds<T>(f: () => T): [T, number] {
  const t = performance.now();
  const r = f();
  return [r, (performance.now() - t) / 1000];
}

async function secondsAsync<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, (performance.now() - t) / 1000];
}

const rate = (bytes: number, s: number) => `${(bytes / MiB / s).toFixed(0)} MiB/s`;

async function must<T>(p: Promise<{ ok: true; value: T } | { ok: false; error: unknown }>): Promise<T> {
  const r = await p;
  if (!r.ok) throw r.error;
  return r.value;
}

async function ingest(root: string, files: string[], bytes: number, openssl: number, cp: number, cpSync: number): Promise<Store> {
  const store = await must(openStore({ path: path.join(root, 'store') }));
  const [first, t1] = await secondsAsync(() => store.putFiles({ files }));
  const failed = first.filter((r) => !r.result.ok).length;
  const [second, t2] = await secondsAsync(() => store.putFiles({ files }));
  const cached = second.filter((r) => r.cached).length;
  const slower = Math.max(openssl, cp);
  console.log(`weld ingest (first)   ${t1.toFixed(2)} s  ${rate(bytes, t1)}  (${failed} failed)`);
  console.log(`weld re-ingest        ${t2.toFixed(2)} s  ${rate(bytes, t2)}  (${cached}/${files.length} from the stat cache)`);
  console.log(`ratio ingest / slower of openssl,cp (goal >= 0.8): ${(slower / t1).toFixed(2)}`);
  console.log(`ratio ingest / cp + sync (durable copies alike):   ${(cpSync / t1).toFixed(2)}`);
  console.log(`ratio re-ingest speed-up (goal >= 3):              ${(t1 / t2).toFixed(2)}`);
  return store;
}

async function index(root: string): Promise<void> {
  const store = await must(openStore({ path: path.join(root, 'index-store') }));
  const blobs: Digest[] = [];
  for (let i = 0; i < 16; i++) blobs.push((await must(store.put([Buffer.from(`blob ${i}`)]))).digest);
  const N = 100_000;
  const ids: string[] = [];
  const [, tw] = await secondsAsync(async () => {
    for (let start = 0; start < N; start += 5000) {
      const batch: RecordInput[] = [];
      for (let i = start; i < start + 5000; i++) {
        const cacheKey = digestBytes(`record ${i}`);
        ids.push(cacheKey);
        batch.push({
          kind: 'build',
          id: cacheKey,
          data: {
            cacheKey, package: `pkg${i % 500}`, version: '1.0', release: 1, arch: 's390x', envImage: blobs[0]!, sourceTree: '0'.repeat(40),
            recipe: { name: 'python-wheel', digest: blobs[1]! }, dependencies: { dep: [blobs[2]!] },
            outputs: [{ name: 'w.whl', digest: blobs[i % 16]!, size: 1 }], log: blobs[3]!, provenance: null,
            timings: { startedAt: '2024-01-01T00:00:00Z', finishedAt: '2024-01-01T00:00:01Z', durationMs: 1000 }, runner: 'podman', weldVersion: '0.1.0',
          },
        });
      }
      await must(store.writeRecords(batch));
    }
  });
  console.log(`index: wrote ${N} build records in ${tw.toFixed(2)} s (${(N / tw).toFixed(0)}/s, batches of 5000)`);
  const probe = [...ids.filter((_, i) => i % 2 === 0), ...Array.from({ length: N / 2 }, (_, i) => digestBytes(`absent ${i}`))];
  const [hits, th] = await secondsAsync(async () =>
    must(store.withIndex('bench', async (s) => {
      let n = 0;
      for (let i = 0; i < probe.length; i += 1000) n += (await s.hasMany('build', probe.slice(i, i + 1000))).filter(Boolean).length;
      return n;
    })),
  );
  console.log(`index: ${probe.length} has look-ups (half hits, getMany of 1000) in ${th.toFixed(3)} s: ${(probe.length / th).toFixed(0)}/s (goal >= 100000/s), ${hits} hits`);
  const [, ts] = await secondsAsync(async () => must(store.withIndex('bench', async (s) => {
    for (let i = 0; i < 10_000; i++) await s.get('build', probe[i]!);
  })));
  console.log(`index: 10000 single awaited record gets: ${(10_000 / ts).toFixed(0)}/s`);
  const [, tb] = await secondsAsync(async () => must(store.withIndex('bench', (s) => s.buildsOf('pkg7'))));
  console.log(`index: builds of one package (200 of 100000) via the secondary key: ${(tb * 1000).toFixed(1)} ms`);
  // A fresh process: what a weld command pays to open the index and answer one question.
  const script = `
    const t0 = performance.now();
    const { openStore } = await import(${JSON.stringify(new URL('../src/store/store.js', import.meta.url).href)});
    const t1 = performance.now();
    const s = (await openStore({ path: ${JSON.stringify(path.join(root, 'index-store'))} })).value;
    const r = await s.withIndex('bench', (x) => x.hasMany('build', [${JSON.stringify(ids[12345])}]));
    const t2 = performance.now();
    console.log(JSON.stringify({ importMs: t1 - t0, openAndLookupMs: t2 - t1, hit: r.value[0] }));`;
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  const cold = JSON.parse(out.stdout) as { importMs: number; openAndLookupMs: number; hit: boolean };
  console.log(`index: cold open in a fresh process (page cache warm): import ${cold.importMs.toFixed(0)} ms, open + close + 1 look-up ${cold.openAndLookupMs.toFixed(1)} ms (hit: ${cold.hit})`);
}

async function blobHas(store: Store, files: number): Promise<void> {
  const probe = Array.from({ length: 100_000 }, (_, i) => digestBytes(`x${i}`));
  const [, t] = await secondsAsync(async () => {
    for (let i = 0; i < probe.length; i += 100) await Promise.all(probe.slice(i, i + 100).map((d) => store.has(d)));
  });
  console.log(`blobs: 100000 has() (stat) on a store of ${files} blobs: ${(100_000 / t).toFixed(0)}/s`);
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), 'weld-bench-store-'));
  try {
    const data = path.join(root, 'corpus');
    mkdirSync(data);
    const [{ files, bytes }, tg] = seconds(() => corpus(data));
    console.log(`corpus: ${files.length} files, ${(bytes / MiB).toFixed(0)} MiB (largest ${(100)} MiB), written in ${tg.toFixed(1)} s`);
    for (const f of files) readFileSync(f); // warm the page cache
    const list = path.join(root, 'list');
    writeFileSync(list, files.join('\0'));
    const [, openssl] = seconds(() => execFileSync('sh', ['-c', `xargs -0 openssl dgst -sha256 < '${list}' > /dev/null`]));
    const [, cp] = seconds(() => execFileSync('cp', ['-r', data, path.join(root, 'cp-copy')]));
    // cp leaves its copy in the page cache; the store makes every blob durable before
    // naming it. cp + sync copies the same bytes to the disk: the like-for-like bound.
    execFileSync('sync');
    const [, cpSync] = seconds(() => {
      execFileSync('cp', ['-r', data, path.join(root, 'cp-copy-2')]);
      execFileSync('sync', ['-f', path.join(root, 'cp-copy-2')]);
    });
    rmSync(path.join(root, 'cp-copy'), { recursive: true, force: true });
    console.log(`openssl dgst -sha256  ${openssl.toFixed(2)} s  ${rate(bytes, openssl)}`);
    console.log(`cp -r                 ${cp.toFixed(2)} s  ${rate(bytes, cp)}`);
    console.log(`cp -r + sync          ${cpSync.toFixed(2)} s  ${rate(bytes, cpSync)}`);
    rmSync(path.join(root, 'cp-copy-2'), { recursive: true, force: true });
    const store = await ingest(root, files, bytes, openssl, cp, cpSync);
    await blobHas(store, files.length);
    await index(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
