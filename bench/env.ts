// Env benchmark (issue 19), side by side in one run, round-robin, warm page caches:
//  1. a full `weld env compose` (a fresh store holding only the debs: nothing cached;
//     debs → layers, config, manifest, digests; no podman load) against a shell loop of
//     `dpkg-deb -x` over the same debs into one directory. Goal ≤ 0.5.
//  2. a lock that changes one deb (BENCH_CHANGE, default python3.11: a new build of it,
//     made here by repacking it with one file changed), composed over a store that
//     composed the old lock (its compose cache in place), against a full compose of that
//     same changed lock. Goal ≤ 0.2.
// Then the podman load of the image, on its own. The debs come from BENCH_DEBS_FROM (a
// weld store that has them, e.g. /work/main/store; only read) or else `weld env fetch`.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { composeEnv, loadEnvImage } from '../src/envs/compose.js';
import { fetchEnv } from '../src/envs/fetch.js';
import { formatEnvLock } from '../src/envs/lock-file.js';
import type { Env, LockedDeb } from '../src/metadata/model.js';
import { openMetadata } from '../src/metadata/open.js';
import { Podman } from '../src/podman/podman.js';
import { blobPath } from '../src/store/layout.js';
import { openStore, type Store } from '../src/store/store.js';
import { medians } from './timing.js';

const ENV = process.argv[2] ?? 'bookworm-s390x';
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const CHANGE = process.env['BENCH_CHANGE'] ?? 'python3.11';
const DEBS_FROM = process.env['BENCH_DEBS_FROM'];

const must = <T>(r: { ok: true; value: T } | { ok: false; error: Error }): T => {
  if (!r.ok) throw r.error;
  return r.value;
};

async function seedDebs(opts: { env: Env; store: Store }): Promise<void> {
  if (!DEBS_FROM) {
    must(await fetchEnv(opts));
    return;
  }
  const from = must(await openStore({ path: DEBS_FROM, create: false }));
  for (const d of opts.env.lock!.debs) {
    const digest = `sha256:${d.sha256}` as const;
    must(await opts.store.put({ file: blobPath(from.layout, digest) }, { expected: digest }));
  }
}

/** The deb `name` rebuilt with one file changed and a new version: what a security update is to the lock. */
function changedDeb(opts: { work: string; store: Store; deb: LockedDeb }): { file: string; locked: LockedDeb } {
  const dir = path.join(opts.work, 'repack');
  execFileSync('dpkg-deb', ['-R', blobPath(opts.store.layout, `sha256:${opts.deb.sha256}`), dir]);
  const version = `${opts.deb.version}+bench1`;
  const control = path.join(dir, 'DEBIAN/control');
  writeFileSync(control, readFileSync(control, 'utf8').replace(/^Version: .*$/m, `Version: ${version}`));
  const doc = path.join(dir, 'usr/share/doc', opts.deb.name);
  mkdirSync(doc, { recursive: true });
  writeFileSync(path.join(doc, 'bench-change'), 'a new build\n');
  const file = path.join(opts.work, `${opts.deb.name}_${version}_${opts.deb.arch}.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '-b', dir, file], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
  const bytes = readFileSync(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { file, locked: { ...opts.deb, version, path: opts.deb.path.replace(path.basename(opts.deb.path), path.basename(file)), sha256, size: bytes.length } };
}

/** A store that is `template`: blobs hard-linked (they are immutable), the index copied. */
function cloneStore(template: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to);
  for (const name of readdirSync(template)) {
    if (name === 'blobs') execFileSync('cp', ['-al', path.join(template, name), path.join(to, name)]);
    else cpSync(path.join(template, name), path.join(to, name), { recursive: true });
  }
}

async function main(): Promise<void> {
  const m = must(await openMetadata({ cwd: process.cwd() }));
  const env = m.envs.get(ENV);
  if (!env?.lock) throw new Error(`no locked env ${ENV}`);
  const work = mkdtempSync(path.join(tmpdir(), 'weld-bench-env-'));
  const debsOnly = path.join(work, 'debs-only');
  try {
    const store = must(await openStore({ path: debsOnly }));
    await seedDebs({ env, store });
    const victim = env.lock.debs.find((d) => d.name === CHANGE);
    if (!victim) throw new Error(`BENCH_CHANGE=${CHANGE} is not a deb of ${ENV}`);
    const changed = changedDeb({ work, store, deb: victim });
    must(await store.put({ file: changed.file }, { expected: `sha256:${changed.locked.sha256}` }));
    // the changed lock, in a copy of the project's metadata (the recipes linked) that the CLI reads with --metadata
    const project = path.join(work, 'project');
    const meta = path.join(project, 'metadata');
    cpSync(path.join(m.root, 'metadata'), meta, { recursive: true });
    symlinkSync(path.join(m.root, 'recipes'), path.join(project, 'recipes'));
    const lock2 = { ...env.lock, debs: env.lock.debs.map((d) => (d === victim ? changed.locked : d)) };
    writeFileSync(path.join(meta, 'envs', `${ENV}.lock.toml`), formatEnvLock({ env: ENV, lock: lock2 }));
    // the store after composing the old lock: its compose cache is what re-compose uses
    const composedOld = path.join(work, 'composed-old');
    cloneStore(debsOnly, composedOld);
    const primed = must(await openStore({ path: composedOld }));
    const first = must(await composeEnv({ env, store: primed }));

    const debs = env.lock.debs.map((d) => blobPath(store.layout, `sha256:${d.sha256}`));
    const list = path.join(work, 'debs.txt');
    writeFileSync(list, debs.join('\n') + '\n');
    for (const f of debs) readFileSync(f); // warm the page cache for every side
    const rootfs = path.join(work, 'rootfs');
    const run = path.join(work, 'run');
    const weld = path.join(m.root, 'bin/weld');
    const compose = (metadata: string) => [weld, 'env', 'compose', ENV, '--no-load', '--metadata', metadata, '--store', run];
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
        { label: 'full compose', cmd: process.execPath, args: compose(path.join(m.root, 'metadata')), before: () => (cloneStore(debsOnly, run), void spawnSync('sync')) },
        { label: 'full compose, changed lock', cmd: process.execPath, args: compose(meta), before: () => (cloneStore(debsOnly, run), void spawnSync('sync')) },
        { label: 'one-deb re-compose', cmd: process.execPath, args: compose(meta), before: () => (cloneStore(composedOld, run), void spawnSync('sync')) },
      ],
      RUNS,
    );
    const dpkg = t.get('dpkg-deb -x loop')!;
    const full = t.get('full compose')!;
    const full2 = t.get('full compose, changed lock')!;
    const again = t.get('one-deb re-compose')!;
    const bytes = env.lock.debs.reduce((n, d) => n + d.size, 0);
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log(`env ${ENV}: ${env.lock.debs.length} debs, ${(bytes / 2 ** 20).toFixed(1)} MiB, ${first.record.layers.length} layers; median of ${RUNS} runs each`);
    console.log(`  dpkg-deb -x loop                       ${s(dpkg)}`);
    console.log(`  weld env compose, full (no load)       ${s(full)}`);
    console.log(`  ratio full compose / dpkg-deb          ${(full / dpkg).toFixed(2)}  (goal ≤ 0.50)`);
    console.log(`  full compose of the lock with ${CHANGE} changed   ${s(full2)}`);
    console.log(`  re-compose after that one-deb change   ${s(again)}`);
    console.log(`  ratio re-compose / full compose        ${(again / full2).toFixed(2)}  (goal ≤ 0.20)`);

    if (process.env['BENCH_LOAD'] === '0') return;
    const podman = Podman.open({ root: m.root, arch: env.arch });
    if (!podman.ok) {
      console.log('  podman load                            skipped: podman is not installed');
      return;
    }
    const image = first;
    // The tag is the lock's: a project on this host may be building in that very image.
    // Time the load only when podman lacks it, and remove only what the bench loaded
    // (never --force, which would stop the containers running in it).
    if (spawnSync(podman.value.bin, ['image', 'exists', image.tag], { env: podman.value.env }).status === 0) {
      console.log(`  podman load                            skipped: ${image.tag} is already in podman (removing it could stop builds using it)`);
      return;
    }
    const t0 = performance.now();
    must(await loadEnvImage({ image, store: primed, podman: podman.value }));
    console.log(`  podman load                            ${s(performance.now() - t0)}  (${image.tag})`);
    spawnSync(podman.value.bin, ['rmi', image.tag], { env: podman.value.env, stdio: 'ignore' });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
