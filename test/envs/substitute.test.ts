import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeEnv, findComposed } from '../../src/envs/compose.js';
import type { EnvEvent } from '../../src/envs/events.js';
import { envInputsDigest } from '../../src/envs/inputs.js';
import { EnvSubstituter } from '../../src/envs/substitute.js';
import type { Env, LockedDeb, Metadata } from '../../src/metadata/model.js';
import { findEnvImage } from '../../src/runner/env-image.js';
import { blobPath } from '../../src/store/layout.js';
import { resolveRemote, type RemoteSettings } from '../../src/store/remote/config.js';
import { generateKey } from '../../src/store/remote/keys.js';
import { envRecordTag, envTag, RECORD_CONFIG_TYPE, tagKind } from '../../src/store/remote/layout.js';
import { pushEnvImages } from '../../src/store/remote/push-composes.js';
import type { Store } from '../../src/store/store.js';
import { buildDeb } from '../helpers/debs.js';
import { weld } from '../helpers/project.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { freshStore, tempDir } from '../helpers/store-temp.js';

// Two machines share a registry. A composes a small env from real debs and pushes it; B,
// with an empty store and no debs, takes the image by its lock: nothing composed, the same
// bytes. A signer B does not trust, a tampered blob and a registry that is down each end in
// a local compose with a warning.

function envOf(debs: LockedDeb[], name = 'tiny'): Env {
  const base = { name, kind: 'builder' as const, arch: 's390x' as const, suite: 'bookworm', components: ['main'], packages: debs.map((d) => d.name), file: `metadata/envs/${name}.toml` };
  return { ...base, lock: { file: `metadata/envs/${name}.lock.toml`, inputs: envInputsDigest(base), suite: 'bookworm', arch: 's390x', debs } };
}

describe('an env image substituted from the store remote', () => {
  let registry: TestRegistry;
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let debs: Array<{ bytes: Buffer; locked: LockedDeb }>;
  let env: Env;
  let a: Store;
  let trusting: RemoteSettings;
  let untrusting: RemoteSettings;
  let publicLine: string;
  const repo = 'weld/envs';

  async function settings(o: { url: string; trust: string[]; signing?: string }): Promise<RemoteSettings> {
    const r = await resolveRemote({ section: { remote: o.url, tlsVerify: false, trustedKeys: o.trust }, env: { WELD_KEYS_DIR: path.join(tmp.dir, 'no-keys'), ...(o.signing ? { WELD_SIGNING_KEY: o.signing } : {}) } });
    if (!r.ok || !r.value) throw new Error('remote settings');
    return r.value;
  }
  async function storeWith(sub: string, withDebs: boolean): Promise<Store> {
    const store = await freshStore(path.join(tmp.dir, sub));
    if (withDebs) for (const d of debs) if (!(await store.put([d.bytes])).ok) throw new Error('put deb');
    return store;
  }
  function compose(store: Store, remote: RemoteSettings) {
    const events: EnvEvent[] = [];
    return composeEnv({ env, store, remote: new EnvSubstituter({ settings: remote, store }), onEvent: (e) => events.push(e) }).then((r) => ({ r, events }));
  }
  const composedHere = (events: EnvEvent[]) => events.some((e) => e.type === 'progress' && e.data.unit === 'debs');

  beforeAll(async () => {
    registry = await startRegistry();
    tmp = await tempDir('weld-env-substitute-');
    debs = [
      buildDeb({ dir: tmp.dir, name: 'base-passwd', files: [{ path: 'usr/share/base-passwd/passwd.master', content: 'root:*:0:0:root:/root:/bin/sh\n' }, { path: 'usr/share/base-passwd/group.master', content: 'root:*:0:\n' }] }),
      buildDeb({ dir: tmp.dir, name: 'hello', compression: 'gzip', files: [{ path: 'usr/bin/hello', content: 'hi\n', mode: 0o755 }, { path: 'bin/hi', symlink: '/usr/bin/hello' }] }),
      buildDeb({ dir: tmp.dir, name: 'zz-data', compression: 'zstd', files: [{ path: 'usr/share/zz/data', content: 'z'.repeat(5000) }] }),
    ];
    env = envOf(debs.map((d) => d.locked));
    const key = await generateKey({ dir: path.join(tmp.dir, 'keys'), name: 'machine-a' });
    const stranger = await generateKey({ dir: path.join(tmp.dir, 'keys'), name: 'someone-else' });
    if (!key.ok || !stranger.ok) throw new Error('keys');
    publicLine = key.value.publicLine;
    trusting = await settings({ url: registry.url(repo), trust: [publicLine] });
    untrusting = await settings({ url: registry.url(repo), trust: [stranger.value.publicLine] });
    // machine A: composes from its debs and pushes (image, then its signed record)
    a = await storeWith('a', true);
    const composed = await composeEnv({ env, store: a });
    if (!composed.ok) throw composed.error;
    const pushed = await pushEnvImages({ settings: await settings({ url: registry.url(repo), trust: [publicLine], signing: key.value.secretFile }), store: a, images: [{ id: composed.value.recordId, record: composed.value.record }] });
    if (!pushed.ok) throw pushed.error;
    expect(pushed.value.pushed).toEqual([envTag(env.name, composed.value.record.manifest), envRecordTag(composed.value.recordId)]);
  }, 120_000);
  afterAll(async () => {
    await registry?.close();
    await tmp?.cleanup();
  });

  it('B takes the image A pushed: nothing fetched or composed, the same bytes, the origin recorded', async () => {
    const b = await storeWith('b', false);
    const { r, events } = await compose(b, trusting);
    if (!r.ok) throw r.error;
    const mine = (await findComposed({ env, store: a }))!;
    expect(r.value.substituted).toMatchObject({ remote: registry.url(repo), keyId: 'machine-a' });
    expect(r.value.record.manifest).toBe(mine.record.manifest);
    expect(r.value.recordId).toBe(mine.recordId);
    expect(r.value.record.origin).toMatchObject({ remote: registry.url(repo), keyId: 'machine-a' });
    expect(composedHere(events)).toBe(false);
    expect(events.filter((e) => e.type === 'warning')).toEqual([]);
    expect(events.find((e) => e.type === 'substituted')?.data).toMatchObject({ keyId: 'machine-a', manifest: mine.record.manifest, blobs: 2 + mine.record.layers.length });
    for (const d of [mine.record.manifest, mine.record.config, ...mine.record.layers]) expect(readFileSync(blobPath(b.layout, d))).toEqual(readFileSync(blobPath(a.layout, d)));
    for (const d of debs) expect(await b.has(`sha256:${d.locked.sha256}`)).toBe(false);
    // now local: found without the remote, and composing again asks nobody
    expect((await findComposed({ env, store: b }))?.record.manifest).toBe(mine.record.manifest);
    const again = await composeEnv({ env, store: b });
    expect(again.ok && again.value.reused).toBe(true);
  }, 60_000);

  it('weld build (the runner) finds the image on the remote too, and says so in an event', async () => {
    const c = await storeWith('runner', false);
    const said: EnvEvent[] = [];
    const metadata = { envs: new Map([[env.name, env]]), distro: { arch: 's390x' } } as unknown as Metadata;
    const img = await findEnvImage({ context: { metadata, store: c, env: {}, registry: trusting, onEnvEvent: (e) => said.push(e) }, env: env.name });
    expect(img.ok && img.composed.substituted?.keyId).toBe('machine-a');
    expect(img.warnings).toEqual([]);
    expect(said.map((e) => e.type)).toEqual(['substituted']);
  }, 60_000);

  it('the runnable image is still read by skopeo; the record tag is a signed weld record listed as env', async () => {
    const mine = (await findComposed({ env, store: a }))!;
    const image = `docker://${registry.host}/${repo}:${envTag(env.name, mine.record.manifest)}`;
    const inspected = JSON.parse(execFileSync('/usr/bin/skopeo', ['inspect', '--tls-verify=false', image], { encoding: 'utf8' })) as { Digest: string; Layers: string[]; Architecture: string };
    expect(inspected).toMatchObject({ Digest: mine.record.manifest, Layers: mine.record.layers, Architecture: 's390x' });
    expect(execFileSync('/usr/bin/skopeo', ['inspect', '--raw', '--tls-verify=false', image])).toEqual(readFileSync(blobPath(a.layout, mine.record.manifest)));
    const tag = envRecordTag(mine.recordId);
    expect(tag).toMatch(/^env-[0-9a-f]{64}$/);
    expect(tagKind(tag)).toBe('env');
    const raw = JSON.parse(execFileSync('/usr/bin/skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/${repo}:${tag}`], { encoding: 'utf8' })) as { config: { mediaType: string }; layers: Array<{ digest: string }> };
    expect(raw.config.mediaType).toBe(RECORD_CONFIG_TYPE);
    expect(raw.layers.map((l) => l.digest).sort()).toEqual([mine.record.lock, mine.record.manifest, mine.record.config, ...mine.record.layers].sort());
    const ls = await weld(['store', 'remote', 'ls', '--json', '--tls-verify=false', '--store-remote', registry.url(repo)], { cwd: tmp.dir, env: {} });
    expect(ls.stderr).toBe('');
    const rows = JSON.parse(ls.stdout) as Array<{ tag: string; kind: string; id: string; package?: string }>;
    expect(rows).toEqual([
      { tag, kind: 'env', id: mine.recordId, package: 'tiny' },
      { tag: envTag(env.name, mine.record.manifest), kind: 'env', id: '', package: 'tiny' },
    ]);
  }, 60_000);

  it('refuses a record signed by a key it does not trust, naming the key, and composes here with a warning', async () => {
    const d = await storeWith('untrusting', true);
    const { r, events } = await compose(d, untrusting);
    if (!r.ok) throw r.error;
    expect(r.value.substituted).toBeUndefined();
    expect(r.value.record.origin).toBeUndefined();
    expect(composedHere(events)).toBe(true);
    const warnings = events.flatMap((e) => (e.type === 'warning' ? [e.data.message] : []));
    expect(warnings).toEqual([expect.stringMatching(/^store remote oci:\/\/127\.0\.0\.1:\d+\/weld\/envs: env-[0-9a-f]{64}: it is signed only by key "machine-a", not in trusted_keys; the record was refused; composing it here$/)]);
  }, 60_000);

  it('with the registry down, warns and composes here', async () => {
    const e = await storeWith('down', true);
    const { r, events } = await compose(e, await settings({ url: 'oci://127.0.0.1:1/down', trust: [publicLine] }));
    if (!r.ok) throw r.error;
    expect(r.value.substituted).toBeUndefined();
    expect(composedHere(events)).toBe(true);
    const warnings = events.flatMap((x) => (x.type === 'warning' ? [x.data.message] : []));
    expect(warnings).toEqual([expect.stringMatching(/^store remote oci:\/\/127\.0\.0\.1:1\/down: GET \/v2\/ failed: .*ECONNREFUSED.*; composing it here$/)]);
  }, 60_000);

  // last: it damages the registry's copy of a layer
  it('refuses a blob whose bytes were tampered with on the registry, stores no record of it, and composes here', async () => {
    const mine = (await findComposed({ env, store: a }))!;
    const victim = mine.record.layers[0]!;
    const file = path.join(registry.storage, 'docker/registry/v2/blobs/sha256', victim.slice(7, 9), victim.slice(7), 'data');
    const good = readFileSync(file);
    const bad = Buffer.from(good);
    bad[bad.length - 1] ^= 0xff;
    writeFileSync(file, bad);
    const f = await storeWith('tampered', true);
    const { r, events } = await compose(f, trusting);
    if (!r.ok) throw r.error;
    expect(r.value.substituted).toBeUndefined();
    expect(r.value.record.origin).toBeUndefined();
    expect(composedHere(events)).toBe(true);
    const warnings = events.flatMap((x) => (x.type === 'warning' ? [x.data.message] : []));
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`^store remote oci://127\\.0\\.0\\.1:\\d+/weld/envs: blob ${victim}: its bytes hash to sha256:[0-9a-f]{64}; nothing was stored; composing it here$`))]);
    // what was composed here is the image A made, byte for byte
    expect(r.value.record.manifest).toBe(mine.record.manifest);
    expect(readFileSync(blobPath(f.layout, victim))).toEqual(good);
  }, 60_000);
});
