import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA, imageManifest } from '../../../src/archive/oci.js';
import type { EnvImageRecord } from '../../../src/store/records.js';
import { envRecordTag, envTag, RECORD_CONFIG_TYPE } from '../../../src/store/remote/layout.js';
import type { Store } from '../../../src/store/store.js';
import { helloLayer, hostImageArch } from '../../helpers/hello-image.js';
import { weld } from '../../helpers/project.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { freshStore, tempDir } from '../../helpers/store-temp.js';

// An env image goes to the registry as the image it is: skopeo reads it and podman pulls
// and runs it. The image is a small real one (a static binary in one layer), made with the
// OCI pieces env compose uses; composing a Debian env would take minutes.

describe('an env image on the store remote', () => {
  let registry: TestRegistry;
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let store: Store;
  let record: EnvImageRecord;
  const pulled: string[] = [];
  const podmanEnv = () => ({ ...process.env, CONTAINERS_CONF: path.join(tmp.dir, 'containers.conf') });
  beforeAll(async () => {
    registry = await startRegistry();
    tmp = await tempDir('weld-remote-env-');
    const layerFile = helloLayer(tmp.dir, 'hello from a weld env image');
    store = await freshStore(tmp.dir);
    const layer = await store.put({ file: layerFile });
    if (!layer.ok) throw layer.error;
    const arch = hostImageArch;
    const config = Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', config: { Cmd: ['/hello'] }, rootfs: { type: 'layers', diff_ids: [layer.value.digest] } }));
    const cfg = await store.put([config]);
    if (!cfg.ok) throw cfg.error;
    const manifest = imageManifest({ config: { mediaType: MEDIA.config, digest: cfg.value.digest, size: cfg.value.size }, layers: [{ mediaType: MEDIA.layer, digest: layer.value.digest, size: layer.value.size }] });
    const m = await store.put([manifest]);
    const lock = await store.put([Buffer.from('[lock]\n')]);
    if (!m.ok || !lock.ok) throw new Error('put');
    record = { env: 'tiny-host', arch, lock: lock.value.digest, manifest: m.value.digest, config: cfg.value.digest, layers: [layer.value.digest], createdAt: '2024-01-01T00:00:00Z' };
    const w = await store.writeRecords([{ kind: 'env', id: 'tiny-host', data: record }]);
    if (!w.ok) throw w.error;
  });
  afterAll(async () => {
    for (const ref of pulled) spawnSync('podman', ['rmi', '-f', ref], { env: podmanEnv() });
    await registry?.close();
    await tmp?.cleanup();
  });

  it('is pushed by `weld store push --all`, read by skopeo, pulled and run by podman', async () => {
    const keys = path.join(tmp.dir, 'keys');
    await weld(['key', 'generate', 'envs'], { cwd: tmp.dir, env: { WELD_KEYS_DIR: keys } });
    const pushed = await weld(['store', 'push', '--all', '--tls-verify=false', '--store-remote', registry.url('weld/envs')], { cwd: tmp.dir, env: { WELD_STORE: store.path, WELD_KEYS_DIR: keys } });
    expect(pushed.stderr).toBe('');
    // the image, and its signed record under the tag of its id
    expect(pushed.stdout).toMatch(/^pushed 2 tags to /);
    const tag = envTag(record.env, record.manifest);
    const recordTag = envRecordTag('tiny-host');
    const signed = JSON.parse(execFileSync('/usr/bin/skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/weld/envs:${recordTag}`], { encoding: 'utf8' })) as { config: { mediaType: string } };
    expect(signed.config.mediaType).toBe(RECORD_CONFIG_TYPE);
    expect(tag).toBe(`env-tiny-host-${record.manifest.slice(7, 19)}`);
    const ref = `${registry.host}/weld/envs:${tag}`;
    const raw = execFileSync('/usr/bin/skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], { encoding: 'utf8' });
    expect(Buffer.from(raw)).toEqual(readFileSync(store.blobPath(record.manifest)));
    const inspected = JSON.parse(execFileSync('/usr/bin/skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`], { encoding: 'utf8' })) as { Digest: string; Layers: string[] };
    expect(inspected.Digest).toBe(record.manifest);
    expect(inspected.Layers).toEqual(record.layers);
    const pull = spawnSync('podman', ['pull', '--tls-verify=false', ref], { env: podmanEnv(), encoding: 'utf8' });
    expect(pull.stderr).not.toMatch(/Error/);
    expect(pull.status).toBe(0);
    pulled.push(ref);
    const run = spawnSync('podman', ['run', '--rm', '--network=none', ref], { env: podmanEnv(), encoding: 'utf8' });
    expect(run.stdout).toBe('hello from a weld env image\n');
    expect(run.status).toBe(0);
  }, 180_000);
});
