import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageManifest, MEDIA } from '../../../src/archive/oci.js';
import type { Digest } from '../../../src/store/digest.js';
import type { ComposeRecord, StoredRecord } from '../../../src/store/records.js';
import { generateKey, trustedKeys, type SigningKey } from '../../../src/store/remote/keys.js';
import { namedTag, TITLE_ANNOTATION, WHEELHOUSE_ARTIFACT_TYPE } from '../../../src/store/remote/layout.js';
import { Pusher } from '../../../src/store/remote/push.js';
import { connectRemote } from '../../../src/store/remote/remote.js';
import { parseRemoteUrl } from '../../../src/store/remote/url.js';
import type { Store } from '../../../src/store/store.js';
import { openStore } from '../../../src/store/store.js';
import { buildProject, type BuildProject } from '../../helpers/build-project.js';
import { initRepo } from '../../helpers/git.js';
import { helloLayer, hostImageArch } from '../../helpers/hello-image.js';
import { weld } from '../../helpers/project.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { freshStore, tempDir } from '../../helpers/store-temp.js';
import { writeRuntimeImage } from '../../helpers/runtime-image.js';
import { makeWheel } from '../../helpers/wheels.js';

// Composes on the store remote: an image compose goes up as the image it is (and a
// compose of several targets as its image index too), read by skopeo and pulled by podman;
// a wheelhouse as a signed compose record whose layers are its files. The images are small
// real ones (a static binary), recorded as `weld compose image` records them; composing a
// Debian runtime env would take minutes. The wheelhouse is a real `weld compose wheelhouse`.

const hostArch = hostImageArch;
const RUNTIME = 'bookworm-s390x-runtime';
const must = <T>(r: { ok: true; value: T } | { ok: false; error: Error }): T => {
  if (!r.ok) throw r.error;
  return r.value;
};
const skopeo = (...args: string[]) => execFileSync('/usr/bin/skopeo', [...args], { encoding: 'utf8' });

let tmp: { dir: string; cleanup: () => Promise<void> };
let key: SigningKey;
const keysDir = () => path.join(tmp.dir, 'keys');
beforeAll(async () => {
  tmp = await tempDir('weld-remote-composes-');
  key = must(await generateKey({ dir: keysDir(), name: 'composer' }));
});
afterAll(() => tmp?.cleanup());

/** An image of one layer (a static hello binary for the host; the same bytes under another arch's config). */
async function putImage(store: Store, layer: { digest: Digest; size: number }, arch: string): Promise<Digest> {
  const config = Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', config: { Cmd: ['/hello'] }, rootfs: { type: 'layers', diff_ids: [layer.digest] } }));
  const cfg = must(await store.put([config]));
  const manifest = imageManifest({ config: { mediaType: MEDIA.config, digest: cfg.digest, size: cfg.size }, layers: [{ mediaType: MEDIA.layer, digest: layer.digest, size: layer.size }] });
  return must(await store.put([manifest])).digest;
}

const imageRecord = (name: string, manifest: Digest, blobs: Digest[]): ComposeRecord => ({ name, type: 'image', manifest, blobs, createdAt: '2024-01-01T00:00:00Z' });

describe('composed images on the store remote', () => {
  let registry: TestRegistry;
  let store: Store;
  let host: Digest;
  let other: Digest;
  let index: Digest;
  const pulled: string[] = [];
  const podmanEnv = () => ({ ...process.env, CONTAINERS_CONF: path.join(tmp.dir, 'containers.conf') });
  const push = (extra: string[] = []) => weld(['store', 'push', '--composes', '--tls-verify=false', '--store-remote', registry.url('weld/images'), ...extra], { cwd: tmp.dir, env: { WELD_STORE: store.path, WELD_KEYS_DIR: keysDir() } });

  beforeAll(async () => {
    registry = await startRegistry();
    const layerFile = helloLayer(tmp.dir, 'hello from a weld composed image');
    store = await freshStore(path.join(tmp.dir, 'images'));
    const layer = must(await store.put({ file: layerFile }));
    const otherArch = hostArch === 's390x' ? 'amd64' : 's390x';
    host = await putImage(store, layer, hostArch);
    other = await putImage(store, layer, otherArch);
    const size = (d: Digest) => readFileSync(store.blobPath(d)).length;
    const indexBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.index, manifests: [
      { mediaType: MEDIA.manifest, digest: host, size: size(host), platform: { architecture: hostArch, os: 'linux' }, annotations: { 'dev.weld.target': 'host' } },
      { mediaType: MEDIA.manifest, digest: other, size: size(other), platform: { architecture: otherArch, os: 'linux' }, annotations: { 'dev.weld.target': 'other' } },
    ] }));
    index = must(await store.put([indexBytes])).digest;
    must(await store.writeRecords([
      { kind: 'compose', id: 'image/app@host', data: imageRecord('app', host, [layer.digest]) },
      { kind: 'compose', id: 'image/app@other', data: imageRecord('app', other, [layer.digest]) },
      { kind: 'compose', id: 'image/app', data: imageRecord('app', index, [host, other, layer.digest]) },
    ]));
  });
  afterAll(async () => {
    for (const ref of pulled) spawnSync('podman', ['rmi', '-f', ref], { env: podmanEnv() });
    await registry?.close();
  });

  it('pushes each image tagged image-<compose>-<digest12> and the index over them; skopeo reads them', async () => {
    const pushed = await push(['--json']);
    expect(pushed.stderr).toBe('');
    expect(pushed.code).toBe(0);
    const report = JSON.parse(pushed.stdout) as { pushed: string[]; blobsUploaded: number; failures: string[] };
    const tags = [host, other, index].map((d) => namedTag('image', 'app', d));
    expect(tags[0]).toBe(`image-app-${host.slice(7, 19)}`);
    expect([...report.pushed].sort()).toEqual([...tags].sort());
    expect(report.failures).toEqual([]);
    // one layer, two configs: each blob once although three manifests name the layer
    expect(report.blobsUploaded).toBe(3);
    const ref = (tag: string) => `docker://${registry.host}/weld/images:${tag}`;
    const inspected = JSON.parse(skopeo('inspect', '--tls-verify=false', ref(tags[0]!))) as { Digest: string; Architecture: string };
    expect(inspected.Digest).toBe(host);
    expect(inspected.Architecture).toBe(hostArch);
    const raw = skopeo('inspect', '--raw', '--tls-verify=false', ref(tags[2]!));
    expect(Buffer.from(raw)).toEqual(readFileSync(store.blobPath(index)));
    const listed = (JSON.parse(raw) as { manifests: Array<{ digest: string; platform: { architecture: string } }> }).manifests;
    expect(listed.map((m) => m.digest)).toEqual([host, other]);
    expect(new Set(listed.map((m) => m.platform.architecture)).size).toBe(2);
    // the children are there by digest too: the index names nothing missing
    for (const d of [host, other]) expect(JSON.parse(skopeo('inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/weld/images@${d}`)).config).toBeTruthy();
  }, 120_000);

  it('pushes nothing twice: a second push finds every tag there and sends no blob', async () => {
    const again = await push(['--json']);
    expect(again.code).toBe(0);
    const report = JSON.parse(again.stdout) as { pushed: string[]; present: string[]; blobsUploaded: number };
    expect(report.pushed).toEqual([]);
    expect(report.present).toHaveLength(3);
    expect(report.blobsUploaded).toBe(0);
  });

  it('is pulled and run by podman from the index tag', async () => {
    const ref = `${registry.host}/weld/images:${namedTag('image', 'app', index)}`;
    const pull = spawnSync('podman', ['pull', '--tls-verify=false', ref], { env: podmanEnv(), encoding: 'utf8' });
    expect(pull.stderr).not.toMatch(/Error/);
    expect(pull.status).toBe(0);
    pulled.push(ref);
    const run = spawnSync('podman', ['run', '--rm', '--network=none', ref], { env: podmanEnv(), encoding: 'utf8' });
    expect(run.stdout).toBe('hello from a weld composed image\n');
  }, 180_000);

  it('refuses a wheelhouse whose record does not list its tree, saying to compose it again', async () => {
    const old = await freshStore(path.join(tmp.dir, 'old'));
    const manifest = must(await old.put([Buffer.from('{}\n')])).digest;
    must(await old.writeRecords([{ kind: 'compose', id: 'wheelhouse/old', data: { name: 'old', type: 'wheelhouse', manifest, blobs: [], createdAt: '2024-01-01T00:00:00Z' } }]));
    const r = await weld(['store', 'push', '--composes', '--json', '--tls-verify=false', '--store-remote', registry.url('weld/old')], { cwd: tmp.dir, env: { WELD_STORE: old.path, WELD_KEYS_DIR: keysDir() } });
    expect(r.code).toBe(1);
    // the report, then the error as every --json failure ends
    const [report, failure] = r.stdout.trim().split(/\n(?=\{"error")/).map((t) => JSON.parse(t) as Record<string, unknown>);
    expect(report!['failures']).toEqual(['weld store push: wheelhouse old: its compose record does not list the tree (an older weld wrote it); it was not pushed']);
    expect(failure!['error']).toEqual({ code: 'E_PUSH_SOURCE', message: 'weld store push: wheelhouse old: its compose record does not list the tree (an older weld wrote it); it was not pushed', hint: 'compose it again (`weld compose wheelhouse old`), then push' });
  });

  it('is listed by `weld store remote ls` under image', async () => {
    const ls = await weld(['store', 'remote', 'ls', '--json', '--tls-verify=false', '--store-remote', registry.url('weld/images')], { cwd: tmp.dir, env: { WELD_STORE: store.path } });
    const rows = JSON.parse(ls.stdout) as Array<{ kind: string; package?: string; tag: string }>;
    expect(rows.map((r) => [r.kind, r.package])).toEqual([['image', 'app'], ['image', 'app'], ['image', 'app']]);
  });
});

describe('a registry killed while an image compose goes up', () => {
  it('shows no tag; after a restart on the same root the retry pushes it', async () => {
    const registry = await startRegistry();
    try {
      const store = await freshStore(path.join(tmp.dir, 'big'));
      const layer = must(await store.put((function* () {
        for (let i = 0; i < 96; i++) yield randomBytes(1 << 20);
      })()));
      const manifest = await putImage(store, layer, hostArch);
      must(await store.writeRecords([{ kind: 'compose', id: 'image/big', data: imageRecord('big', manifest, [layer.digest]) }]));
      const record = must(await store.getRecord('compose', 'image/big'))!;
      const connect = async () => {
        const url = parseRemoteUrl(registry.url('weld/crash'), 'test');
        const trusted = trustedKeys([key.publicLine]);
        if (!url.ok || !trusted.ok) throw new Error('setup');
        return must(await connectRemote({ url: url.value, tlsVerify: false, trusted: trusted.value, signingKey: key, env: process.env }));
      };
      const uploading = (): number => {
        const dir = path.join(registry.storage, 'docker/registry/v2/repositories/weld/crash/_uploads');
        if (!existsSync(dir)) return 0;
        let n = 0;
        for (const u of readdirSync(dir)) if (existsSync(path.join(dir, u, 'data'))) n += statSync(path.join(dir, u, 'data')).size;
        return n;
      };
      const r = await connect();
      const pushing = new Pusher(r, store).pushCompose(record);
      const deadline = Date.now() + 30_000;
      while (uploading() < 1 << 20 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
      await registry.kill('SIGKILL');
      const result = await pushing;
      expect(!result.ok && result.error.code).toBe('E_REMOTE_UNAVAILABLE');
      await r.client.close();

      await registry.restart();
      const again = await connect();
      expect(await again.client.tags()).toEqual({ ok: true, value: [] });
      const retry = new Pusher(again, store);
      expect((await retry.pushCompose(record)).ok).toBe(true);
      expect(retry.report.pushed).toEqual([namedTag('image', 'big', manifest)]);
      const inspected = JSON.parse(skopeo('inspect', '--tls-verify=false', `docker://${registry.host}/weld/crash:${namedTag('image', 'big', manifest)}`)) as { Digest: string };
      expect(inspected.Digest).toBe(manifest);
      await again.client.close();
    } finally {
      await registry.close();
    }
  }, 120_000);
});

describe('`weld compose` with [store] push = true', () => {
  let registry: TestRegistry;
  let project: BuildProject;
  const COPY_WHEEL = '#!/bin/sh\nset -e\nmkdir -p "$WELD_OUT/wheels"\ncp "$WELD_SRC"/*.whl "$WELD_OUT/wheels/"\n';
  const env = () => ({ WELD_STORE: path.join(project.root, 'store'), WELD_RUNNER: 'local', WELD_KEYS_DIR: keysDir() });

  beforeAll(async () => {
    registry = await startRegistry();
    const dir = mkdtempSync(path.join(tmp.dir, 'wheel-'));
    const wheel = makeWheel({ dist: 'alpha', version: '1.0', files: { 'alpha/__init__.py': '' } });
    writeFileSync(path.join(dir, wheel.file), wheel.bytes);
    project = await buildProject({ recipes: { 'copy-wheel': COPY_WHEEL }, packages: [{ name: 'alpha', recipe: 'copy-wheel', files: { dir } }] });
    appendFileSync(path.join(project.root, 'metadata/weld.toml'), `\n[store]\nremote = "${registry.url('weld/wheels')}"\npush = true\ntls_verify = false\ntrusted_keys = ["${key.publicLine}"]\n`);
    mkdirSync(path.join(project.root, 'metadata/composes'));
    writeFileSync(path.join(project.root, 'metadata/composes/wheels.toml'), '[compose]\nkind = "wheelhouse"\n');
    writeFileSync(path.join(project.root, 'metadata/composes/app.toml'), `[compose]\nkind = "image"\nenv = "${RUNTIME}"\npackages = ["alpha"]\n`);
    writeFileSync(path.join(project.root, '.gitignore'), '/store/\n/mirrors/\n/out/\n/.weld/\n');
    initRepo(project.root);
    const built = await weld(['build', 'alpha', '--no-test'], { cwd: project.root, env: env() });
    expect(built.code, built.stdout + built.stderr).toBe(0);
    await writeRuntimeImage(await project.metadata(), must(await openStore({ path: path.join(project.root, 'store') })), RUNTIME);
  }, 120_000);
  afterAll(async () => {
    project?.cleanup();
    await registry?.close();
  });

  it('goes up with `weld compose wheelhouse` when [store] push = true: its files as layers, the wheel a HEAD hit', async () => {
    const composed = await weld(['compose', 'wheelhouse', 'wheels'], { cwd: project.root, env: env() });
    expect(composed.code, composed.stderr).toBe(0);
    expect(composed.stderr).not.toMatch(/warning/);
    const opened = must(await openStore({ path: path.join(project.root, 'store') }));
    const record = must(await opened.getRecord('compose', 'wheelhouse/wheels'))! as StoredRecord<'compose'>;
    const tag = namedTag('wheelhouse', 'wheels', record.data.manifest);
    expect(composed.stdout).toMatch(new RegExp(`wheels: pushed 1 tag to ${registry.url('weld/wheels').replace(/[.]/g, '\\.')} \\(`));
    // the wheel went up with its build
    expect(composed.stdout).toMatch(/ 1 blobs and 0 tags there already\)/);
    const raw = JSON.parse(skopeo('inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/weld/wheels:${tag}`)) as { artifactType: string; config: { mediaType: string }; layers: Array<{ digest: string; annotations: Record<string, string> }> };
    expect(raw.artifactType).toBe(WHEELHOUSE_ARTIFACT_TYPE);
    expect(raw.config.mediaType).toBe('application/vnd.weld.record.v1+dsse+json');
    const files = raw.layers.map((l) => l.annotations[TITLE_ANNOTATION]);
    expect(files).toEqual(record.data.files!.map((f) => f.path));
    expect(files).toContain('wheels/alpha-1.0-py3-none-any.whl');
    expect(files).toContain('simple/alpha/index.html');
    expect(files).toContain('manifest.json');
    for (const l of raw.layers) expect(readFileSync(opened.blobPath(l.digest as Digest)).length).toBeGreaterThan(0);
  }, 120_000);

  it('pushes the image `weld compose image` made, tagged image-<compose>-<digest12>', async () => {
    const composed = await weld(['compose', 'image', 'app', '--no-load'], { cwd: project.root, env: env() });
    expect(composed.code, composed.stderr).toBe(0);
    expect(composed.stderr).not.toMatch(/warning/);
    const opened = must(await openStore({ path: path.join(project.root, 'store') }));
    const record = must(await opened.getRecord('compose', 'image/app'))! as StoredRecord<'compose'>;
    const tag = namedTag('image', 'app', record.data.manifest);
    expect(composed.stdout).toContain(`app: pushed 1 tag to ${registry.url('weld/wheels')} (`);
    const inspected = JSON.parse(skopeo('inspect', '--tls-verify=false', `docker://${registry.host}/weld/wheels:${tag}`)) as { Digest: string; Labels: Record<string, string> };
    expect(inspected.Digest).toBe(record.data.manifest);
    expect(inspected.Labels['dev.weld.compose']).toBe('app');
  }, 120_000);

  it('is listed by `weld store remote ls` with the build and the image, grouped by kind', async () => {
    const ls = await weld(['store', 'remote', 'ls'], { cwd: project.root, env: env() });
    expect(ls.code, ls.stderr).toBe(0);
    const kinds = ls.stdout.trim().split('\n').map((l) => l.split(/\s+/).slice(0, 2));
    expect(kinds).toEqual([['build', 'alpha'], ['image', 'app'], ['wheelhouse', 'wheels']]);
  });

  it('is pushed again by `weld store push --composes` as already there, the image too', async () => {
    const pushed = await weld(['store', 'push', '--composes', '--json'], { cwd: project.root, env: env() });
    expect(pushed.code, pushed.stderr).toBe(0);
    const report = JSON.parse(pushed.stdout) as { pushed: string[]; present: string[]; blobsUploaded: number };
    expect(report).toMatchObject({ pushed: [], blobsUploaded: 0 });
    expect(report.present).toHaveLength(2);
  });
});
