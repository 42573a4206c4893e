import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest } from '../../../src/store/digest.js';
import type { BuildRecord } from '../../../src/store/records.js';
import { generateKey, trustedKeys, type SigningKey } from '../../../src/store/remote/keys.js';
import { recordTag } from '../../../src/store/remote/layout.js';
import { Puller } from '../../../src/store/remote/pull.js';
import { Pusher } from '../../../src/store/remote/push.js';
import { connectRemote } from '../../../src/store/remote/remote.js';
import { parseRemoteUrl } from '../../../src/store/remote/url.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { buildRecord, freshStore, tempDir } from '../../helpers/store-temp.js';

let tmp: { dir: string; cleanup: () => Promise<void> };
let key: SigningKey;
beforeAll(async () => {
  tmp = await tempDir('weld-remote-auth-');
  const k = await generateKey({ dir: path.join(tmp.dir, 'keys'), name: 'ci' });
  if (!k.ok) throw k.error;
  key = k.value;
});
afterAll(() => tmp?.cleanup());

const connect = async (registry: TestRegistry, env: NodeJS.ProcessEnv, repo = 'weld/cache') => {
  const url = parseRemoteUrl(registry.url(repo), 'test');
  const trusted = trustedKeys([key.publicLine]);
  if (!url.ok || !trusted.ok) throw new Error('setup');
  return connectRemote({ url: url.value, tlsVerify: false, trusted: trusted.value, signingKey: key, env });
};

describe('a registry behind htpasswd', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ htpasswd: { user: 'weld', password: 's3cret' } });
  });
  afterAll(() => registry?.close());

  const authFile = (password: string) => {
    const file = path.join(tmp.dir, `auth-${password}.json`);
    writeFileSync(file, JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`weld:${password}`).toString('base64') } } }));
    return file;
  };

  it('answers 401 without credentials, and weld says where credentials go', async () => {
    const raw = await fetch(`http://${registry.host}/v2/`);
    expect(raw.status).toBe(401);
    const r = await connect(registry, { HOME: tmp.dir, XDG_RUNTIME_DIR: path.join(tmp.dir, 'run') });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('E_REMOTE_AUTH');
    expect(r.error.message).toBe(`store remote ${registry.url()}: the registry asks for a user name and password and no auth file has an entry for it`);
  });

  it('refuses wrong credentials, naming the file they came from', async () => {
    const file = authFile('wrong');
    const r = await connect(registry, { REGISTRY_AUTH_FILE: file, HOME: tmp.dir });
    expect(r.ok ? 'connected' : r.error.message).toBe(`store remote ${registry.url()}: the registry refused the credentials of weld from ${file}`);
  });

  it('pushes and pulls with the credentials of $REGISTRY_AUTH_FILE', async () => {
    const r = await connect(registry, { REGISTRY_AUTH_FILE: authFile('s3cret'), HOME: tmp.dir });
    if (!r.ok) throw r.error;
    const a = await freshStore(path.join(tmp.dir, 'a'));
    const out = await a.put([Buffer.from('authenticated ' + randomBytes(4).toString('hex'))]);
    if (!out.ok) throw out.error;
    const rec = buildRecord({ pkg: 'authed', outputs: [out.value.digest] });
    expect((await a.writeRecords([rec])).ok).toBe(true);
    const stored = await a.getRecord('build', rec.id);
    if (!stored.ok || !stored.value) throw new Error('no record');
    const pushed = await new Pusher(r.value, a).pushRecord(stored.value);
    expect(pushed.ok).toBe(true);
    const b = await freshStore(path.join(tmp.dir, 'b'));
    const got = await new Puller(r.value, b).pull('build', rec.id as Digest);
    expect(got.ok && got.value?.record.package).toBe('authed');
    await r.value.client.close();
  });
});

describe('the registry killed mid-push', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(() => registry?.close());

  const uploadingBytes = (repo: string): number => {
    const dir = path.join(registry.storage, 'docker/registry/v2/repositories', repo, '_uploads');
    if (!existsSync(dir)) return 0;
    let n = 0;
    for (const u of readdirSync(dir)) {
      const data = path.join(dir, u, 'data');
      if (existsSync(data)) n += statSync(data).size;
    }
    return n;
  };

  it('leaves no visible record; after a restart on the same root the retry pushes it', async () => {
    const store = await freshStore(path.join(tmp.dir, 'big'));
    const big = await store.put((function* () {
      for (let i = 0; i < 96; i++) yield randomBytes(1 << 20);
    })());
    if (!big.ok) throw big.error;
    const rec = buildRecord({ pkg: 'bigone', outputs: [big.value.digest] });
    expect((await store.writeRecords([rec])).ok).toBe(true);
    const stored = (await store.getRecord('build', rec.id)) as { ok: true; value: { kind: 'build'; id: string; data: BuildRecord } };
    const r = await connect(registry, {}, 'weld/crash');
    if (!r.ok) throw r.error;
    const pushing = new Pusher(r.value, store).pushRecord(stored.value);
    const deadline = Date.now() + 30_000;
    while (uploadingBytes('weld/crash') < 1 << 20 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
    await registry.kill('SIGKILL');
    const result = await pushing;
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('E_REMOTE_UNAVAILABLE');
    await r.value.client.close();

    await registry.restart();
    const again = await connect(registry, {}, 'weld/crash');
    if (!again.ok) throw again.error;
    expect(await again.value.client.hasManifest(recordTag('build', rec.id as Digest))).toEqual({ ok: true, value: false });
    expect(await again.value.client.tags()).toEqual({ ok: true, value: [] });
    const empty = await freshStore(path.join(tmp.dir, 'empty'));
    expect(await new Puller(again.value, empty).pull('build', rec.id as Digest)).toEqual({ ok: true, value: undefined });

    const retry = new Pusher(again.value, store);
    expect((await retry.pushRecord(stored.value)).ok).toBe(true);
    expect(retry.report.pushed).toEqual([recordTag('build', rec.id as Digest)]);
    const got = await new Puller(again.value, empty).pull('build', rec.id as Digest);
    expect(got.ok && got.value?.bytesFetched).toBe(96 << 20);
    expect(await empty.has(big.value.digest)).toBe(true);
    await again.value.client.close();
  });
});
