// Env benchmark: `weld env compose` (debs in the store → OCI layer, config, manifest,
// digests; no podman load) against a shell loop of `dpkg-deb -x` over the same debs
// into one directory. Both run from warm page caches, round-robin, in one run; the
// podman load is timed on its own. Needs the network once (weld env fetch).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { composeEnv, loadEnvImage } from '../src/envs/compose.js';
import { fetchEnv } from '../src/envs/fetch.js';
import { openMetadata } from '../src/metadata/open.js';
import { Podman } from '../src/podman/podman.js';
import { blobPath } from '../src/store/layout.js';
import { openStore } from '../src/store/store.js';
import { medians } from './timing.js';

const ENV = process.argv[2] ?? 'bookworm-s390x';
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);

async function main(): Promise<void> {
  const m = await openMetadata({ cwd: process.cwd() });
  if (!m.ok) throw m.error;
  const env = m.value.envs.get(ENV);
  if (!env?.lock) throw new Error(`no locked env ${ENV}`);
  const work = mkdtempSync(path.join(tmpdir(), 'weld-bench-env-'));
  const storeDir = path.join(work, 'store');
  try {
    const store = await openStore({ path: storeDir });
    if (!store.ok) throw store.error;
    const fetched = await fetchEnv({ env, store: store.value });
    if (!fetched.ok) throw fetched.error;
    const debs = env.lock.debs.map((d) => blobPath(store.value.layout, `sha256:${d.sha256}`));
    const list = path.join(work, 'debs.txt');
    writeFileSync(list, debs.join('\n') + '\n');
    for (const f of debs) readFileSync(f); // warm the page cache for both sides
    const rootfs = path.join(work, 'rootfs');
    const weld = path.join(process.cwd(), 'bin/weld');
    const t = medians(
      [
        {
          label: 'dpkg-deb -x loop',
          cmd: 'sh',
          args: ['-c', `while read f; do dpkg-deb -x "$f" "${rootfs}"; done < "${list}"`],
          before: () => {
            rmSync(rootfs, { recursive: true, force: true });
            mkdirSync(rootfs);
            spawnSync('sync');
          },
        },
        { label: 'weld env compose', cmd: process.execPath, args: [weld, 'env', 'compose', ENV, '--force', '--no-load', '--store', storeDir], before: () => void spawnSync('sync') },
      ],
      RUNS,
    );
    const dpkg = t.get('dpkg-deb -x loop')!;
    const compose = t.get('weld env compose')!;
    const bytes = env.lock.debs.reduce((n, d) => n + d.size, 0);
    console.log(`env ${ENV}: ${env.lock.debs.length} debs, ${(bytes / 2 ** 20).toFixed(1)} MiB; median of ${RUNS} runs each`);
    console.log(`  dpkg-deb -x loop            ${(dpkg / 1000).toFixed(2)} s`);
    console.log(`  weld env compose (no load)  ${(compose / 1000).toFixed(2)} s`);
    console.log(`  ratio compose / dpkg-deb    ${(compose / dpkg).toFixed(2)}  (goal ≤ 0.50)`);

    const image = await composeEnv({ env, store: store.value });
    if (!image.ok) throw image.error;
    const podman = Podman.open({ root: m.value.root, arch: env.arch });
    if (!podman.ok) {
      console.log('  podman load                 skipped: podman is not installed');
      return;
    }
    spawnSync(podman.value.bin, ['rmi', '-f', image.value.tag], { env: podman.value.env, stdio: 'ignore' });
    const t0 = performance.now();
    const loaded = await loadEnvImage({ image: image.value, store: store.value, podman: podman.value });
    if (!loaded.ok) throw loaded.error;
    console.log(`  podman load                 ${((performance.now() - t0) / 1000).toFixed(2)} s  (${image.value.tag})`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
