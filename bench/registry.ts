// Store-remote benchmark, against a real registry (Debian's docker-registry on 127.0.0.1)
// started here, each figure beside its reference measured in the same run:
//   - pushing N builds' records and blobs vs `skopeo copy` of the same blobs (oci: → docker://)
//   - substituting those N builds into an empty store vs `skopeo copy` back (docker:// → oci:)
//   - the no-op look-up of 1,000 keys (already in the store; and asked of the registry)
//   - store ingest (what a pull writes) vs openssl dgst -sha256, cp + sync, and ostree commit
//     into a bare repo with fsync, on the same tree
// Sizes are bounded for a shared 2-core machine: WELD_BENCH_BUILDS (default 1000),
// WELD_BENCH_INGEST_MB (default 250, in 2,000 files). Prints figures and ratios only.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MEDIA } from '../src/archive/oci.js';
import { sha256Of } from '../src/core/digest.js';
import type { Digest } from '../src/store/digest.js';
import type { RecordInput } from '../src/store/index.js';
import type { BuildRecord, StoredRecord } from '../src/store/records.js';
import { generateKey, trustedKeys } from '../src/store/remote/keys.js';
import { Puller } from '../src/store/remote/pull.js';
import { Pusher } from '../src/store/remote/push.js';
import { connectRemote, type Remote } from '../src/store/remote/remote.js';
import { parseRemoteUrl } from '../src/store/remote/url.js';
import { openStore, type Store } from '../src/store/store.js';
import { startRegistry } from '../test/helpers/registry.js';

const MiB = 1 << 20;
const BUILDS = Number(process.env['WELD_BENCH_BUILDS'] ?? 1000);
const INGEST_MB = Number(process.env['WELD_BENCH_INGEST_MB'] ?? 250);
const CONCURRENCY = 8;

async function must<T>(p: Promise<{ ok: true; value: T } | { ok: false; error: unknown }>): Promise<T> {
  const r = await p;
  if (!r.ok) throw r.error;
  return r.value;
}

async function timed<T>(f: () => Promise<T> | T): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, (performance.now() - t) / 1000];
}

const ratio = (a: number, b: number) => (a / b).toFixed(2);

/** N build records, each naming a wheel (~24 KiB) and a log (~3 KiB) of its own. */
async function seedStore(store: Store): Promise<{ records: StoredRecord[]; blobs: Array<{ digest: Digest; size: number; path: string }> }> {
  const records: StoredRecord[] = [];
  const blobs: Array<{ digest: Digest; size: number; path: string }> = [];
  const shared = await must(store.put([Buffer.from('recipe and env description, shared by every record')]));
  for (let start = 0; start < BUILDS; start += 250) {
    const batch: RecordInput[] = [];
    for (let i = start; i < Math.min(BUILDS, start + 250); i++) {
      const wheel = await must(store.put([randomBytes(16 * 1024 + (i % 17) * 512)]));
      const log = await must(store.put([Buffer.from(`build log of pkg${i}\n`.repeat(120))]));
      for (const b of [wheel, log]) blobs.push({ digest: b.digest, size: b.size, path: store.blobPath(b.digest) });
      const cacheKey = sha256Of(`bench key ${i} ${start}`);
      const data: BuildRecord = {
        cacheKey, package: `pkg${i}`, version: '1.0', release: 1, arch: 's390x', envImage: shared.digest, sourceTree: '0'.repeat(40),
        recipe: { name: 'python-wheel', digest: shared.digest }, dependencies: {},
        outputs: [{ name: `pkg${i}-1.0-py3-none-any.whl`, digest: wheel.digest, size: wheel.size }], log: log.digest, provenance: null,
        timings: { startedAt: '2024-01-01T00:00:00Z', finishedAt: '2024-01-01T00:00:01Z', durationMs: 1000 }, runner: 'podman', weldVersion: '0.1.0',
      };
      batch.push({ kind: 'build', id: cacheKey, data });
      records.push({ kind: 'build', id: cacheKey, data });
    }
    await must(store.writeRecords(batch));
  }
  return { records, blobs };
}

/**
 * The same blobs as OCI images in one layout directory, LAYERS blobs an image: what skopeo
 * copies. (One image of all 2,000 layers stalled skopeo 1.9 at 93 layers; one image per
 * build would mostly time skopeo's start-up.)
 */
const LAYERS = 50;
function ociLayout(dir: string, blobs: Array<{ digest: Digest; size: number; path: string }>): string[] {
  mkdirSync(path.join(dir, 'blobs/sha256'), { recursive: true });
  for (const b of blobs) execFileSync('ln', ['-f', b.path, path.join(dir, 'blobs/sha256', b.digest.slice(7))]);
  const manifests: object[] = [];
  const refs: string[] = [];
  for (let start = 0; start < blobs.length; start += LAYERS) {
    const part = blobs.slice(start, start + LAYERS);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: part.map((b) => b.digest) } }));
    const cd = sha256Of(config);
    writeFileSync(path.join(dir, 'blobs/sha256', cd.slice(7)), config);
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.manifest, config: { mediaType: MEDIA.config, digest: cd, size: config.length }, layers: part.map((b) => ({ mediaType: MEDIA.layer, digest: b.digest, size: b.size })) }));
    const md = sha256Of(manifest);
    writeFileSync(path.join(dir, 'blobs/sha256', md.slice(7)), manifest);
    const ref = `part${start / LAYERS}`;
    refs.push(ref);
    manifests.push({ mediaType: MEDIA.manifest, digest: md, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': ref } });
  }
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  return refs;
}

function skopeo(args: string[]): number {
  const t = performance.now();
  const r = spawnSync('/usr/bin/skopeo', ['copy', '--quiet', ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`skopeo copy failed: ${r.stderr}`);
  return (performance.now() - t) / 1000;
}

async function registryBench(root: string): Promise<void> {
  const registry = await startRegistry();
  try {
    const key = await must(generateKey({ dir: path.join(root, 'keys'), name: 'bench' }));
    const trusted = await must(Promise.resolve(trustedKeys([key.publicLine])));
    const connect = async (repo: string): Promise<Remote> =>
      must(connectRemote({ url: await must(Promise.resolve(parseRemoteUrl(registry.url(repo), 'bench'))), tlsVerify: false, trusted, signingKey: key, env: {}, concurrency: CONCURRENCY }));
    const a = await must(openStore({ path: path.join(root, 'a') }));
    const [{ records, blobs }, ts] = await timed(() => seedStore(a));
    const bytes = blobs.reduce((n, b) => n + b.size, 0);
    console.log(`seeded ${BUILDS} build records, ${blobs.length} blobs, ${(bytes / MiB).toFixed(1)} MiB in ${ts.toFixed(1)} s`);
    const layout = path.join(root, 'layout');
    const refs = ociLayout(layout, blobs);

    // push: weld vs skopeo, each into a repository of its own (a registry links blobs per repository)
    const remote = await connect('weld/bench');
    const pusher = new Pusher(remote, a);
    const [pushed, tw] = await timed(() => Promise.all(records.map((r) => pusher.pushRecord(r))));
    const failed = pushed.filter((p) => !p.ok).length;
    const tsk = refs.reduce((t, ref) => t + skopeo(['--dest-tls-verify=false', `oci:${layout}:${ref}`, `docker://${registry.host}/skopeo/bench:${ref}`]), 0);
    console.log(`push: weld ${tw.toFixed(2)} s (${pusher.report.pushed.length} records, ${pusher.report.blobsUploaded} blobs, ${failed} failed) | skopeo copy oci: → docker:// ${tsk.toFixed(2)} s (${refs.length} images of ${LAYERS} layers)`);
    console.log(`ratio push weld / skopeo (goal <= 1.5): ${ratio(tw, tsk)}`);

    // substitution: N records into an empty store vs skopeo copy docker:// → oci:
    const b = await must(openStore({ path: path.join(root, 'b') }));
    const puller = new Puller(remote, b);
    const [pulled, tp] = await timed(() => puller.pullMany('build', records.map((r) => r.id as Digest)));
    const got = pulled.filter((p) => p.ok && p.value).length;
    const out = path.join(root, 'skopeo-out');
    const tsb = refs.reduce((t, ref) => t + skopeo(['--src-tls-verify=false', `docker://${registry.host}/skopeo/bench:${ref}`, `oci:${out}:${ref}`]), 0);
    console.log(`substitute: weld ${tp.toFixed(2)} s (${got}/${BUILDS} records, ${(bytes / MiB / tp).toFixed(1)} MiB/s) | skopeo copy docker:// → oci: ${tsb.toFixed(2)} s`);
    console.log(`ratio substitution weld / skopeo (goal <= 1.5): ${ratio(tp, tsb)}`);

    // the no-op look-up: 1,000 keys a second build finds in its own store
    const keys = records.slice(0, 1000).map((r) => r.id);
    const [found, tl] = await timed(() => must(b.withIndex('bench', (s) => s.buildRecords(keys))));
    console.log(`no-op look-up of ${keys.length} keys in the store: ${(tl * 1000).toFixed(1)} ms, ${(keys.length / tl).toFixed(0)} keys/s (${found.filter(Boolean).length} hits)`);
    // and asked of the registry: manifest + signed config + signature check per key, no blobs
    const [remoteFound, tr] = await timed(() => Promise.all(keys.map((k) => puller.fetchRecord('build', k as Digest))));
    console.log(`look-up of ${keys.length} keys on the registry (manifest, config, signature): ${tr.toFixed(2)} s, ${(keys.length / tr).toFixed(0)} keys/s (${remoteFound.filter((r) => r.ok && r.value).length} hits)`);
    const absent = Array.from({ length: 1000 }, (_, i) => sha256Of(`absent ${i}`));
    const [, tm] = await timed(() => Promise.all(absent.map((k) => puller.fetchRecord('build', k))));
    console.log(`look-up of 1000 keys the registry lacks: ${tm.toFixed(2)} s, ${(1000 / tm).toFixed(0)} keys/s`);
    await remote.client.close();
  } finally {
    await registry.close();
  }
}

function tree(dir: string): { files: string[]; bytes: number } {
  const n = 2000;
  const total = INGEST_MB * MiB;
  const pool = randomBytes(32 * MiB);
  const files: string[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    // sizes spread from a few KiB to a few MiB, summing to the total
    const size = Math.max(1024, Math.floor((total / n) * (0.05 + 1.9 * ((i * 7919) % n) / n)));
    const sub = path.join(dir, `d${i % 40}`);
    mkdirSync(sub, { recursive: true });
    const f = path.join(sub, `f${i}.bin`);
    const off = (i * 104729) % (pool.length - Math.min(size, pool.length - 1));
    const head = Buffer.from(`file ${i} `);
    writeFileSync(f, Buffer.concat([head, pool.subarray(off, off + Math.min(size, pool.length - off))]));
    files.push(f);
    bytes += size;
  }
  return { files, bytes };
}

async function ingestBench(root: string): Promise<void> {
  const src = path.join(root, 'tree');
  const { files, bytes } = tree(src);
  const mb = bytes / MiB;
  const run = (cmd: string, args: string[], opts: { cwd?: string } = {}) => {
    const t = performance.now();
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', ...opts, maxBuffer: 64 * MiB });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
    return (performance.now() - t) / 1000;
  };
  spawnSync('sync');
  // the page cache is warm for every contender: the tree was just written, and each reads it once before
  run('cat', files.slice(0, 1));
  const tOpenssl = run('sh', ['-c', `find ${src} -type f -print0 | xargs -0 openssl dgst -sha256 > /dev/null`]);
  const tCp = run('sh', ['-c', `cp -r ${src} ${path.join(root, 'cp-copy')} && sync -f ${path.join(root, 'cp-copy')}`]);
  // the peer, when the host has it (Debian's ostree); without it the other figures still stand
  const hasOstree = spawnSync('ostree', ['--version'], { stdio: 'ignore' }).status === 0;
  let tOstree = NaN;
  if (hasOstree) {
    run('ostree', ['init', `--repo=${path.join(root, 'ostree')}`, '--mode=bare']);
    tOstree = run('ostree', ['commit', `--repo=${path.join(root, 'ostree')}`, '--branch=bench', `--tree=dir=${src}`, '--fsync=true', '--no-xattrs']);
  }
  spawnSync('sync');
  const store = await must(openStore({ path: path.join(root, 'ingest-store') }));
  const [results, tWeld] = await timed(() => store.putFiles({ files }));
  const bad = results.filter((r) => !r.result.ok).length;
  const slower = Math.max(tOpenssl, tCp);
  console.log(`ingest of ${files.length} files, ${mb.toFixed(0)} MiB:`);
  console.log(`  weld putFiles ${tWeld.toFixed(2)} s (${(mb / tWeld).toFixed(0)} MiB/s, ${bad} failed) | openssl dgst -sha256 ${tOpenssl.toFixed(2)} s | cp -r + sync ${tCp.toFixed(2)} s | ostree commit (bare, fsync) ${hasOstree ? `${tOstree.toFixed(2)} s` : 'skipped (no ostree on PATH: apt-get install ostree)'}`);
  console.log(`ratio ingest speed / slower of openssl, cp+sync (goal >= 0.8): ${ratio(slower, tWeld)}`);
  if (hasOstree) console.log(`ratio ingest speed / ostree commit (goal >= 1.0): ${ratio(tOstree, tWeld)}`);
}

const root = mkdtempSync(path.join(tmpdir(), 'weld-bench-registry-'));
try {
  // WELD_BENCH_ONLY=registry|ingest runs one half
  const only = process.env['WELD_BENCH_ONLY'];
  if (only !== 'ingest') await registryBench(root);
  if (only !== 'registry') await ingestBench(root);
} finally {
  rmSync(root, { recursive: true, force: true });
}
