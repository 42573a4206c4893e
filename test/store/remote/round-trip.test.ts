import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Of } from '../../../src/core/digest.js';
import type { Digest } from '../../../src/store/digest.js';
import type { BuildRecord } from '../../../src/store/records.js';
import { generateKey, trustedKeys, type SigningKey } from '../../../src/store/remote/keys.js';
import { signEnvelope } from '../../../src/store/remote/dsse.js';
import { RECORD_CONFIG_TYPE, RECORD_PAYLOAD_TYPE, recordManifest, recordTag, signedBody } from '../../../src/store/remote/layout.js';
import { Puller } from '../../../src/store/remote/pull.js';
import { Pusher } from '../../../src/store/remote/push.js';
import { connectRemote, type Remote } from '../../../src/store/remote/remote.js';
import { parseRemoteUrl } from '../../../src/store/remote/url.js';
import type { Store } from '../../../src/store/store.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { buildRecord, freshStore, putText, tempDir } from '../../helpers/store-temp.js';

// The store's remote against a real registry (Debian's docker-registry on 127.0.0.1):
// records and blobs pushed from one store and substituted into another, and everything a
// hostile or broken registry can do refused.

let registry: TestRegistry;
let tmp: { dir: string; cleanup: () => Promise<void> };
let key: SigningKey;
let other: SigningKey;

beforeAll(async () => {
  registry = await startRegistry();
  tmp = await tempDir('weld-remote-');
  const k = await generateKey({ dir: path.join(tmp.dir, 'keys'), name: 'ci-a' });
  const o = await generateKey({ dir: path.join(tmp.dir, 'keys-other'), name: 'intruder' });
  if (!k.ok || !o.ok) throw new Error('keygen');
  key = k.value;
  other = o.value;
});
afterAll(async () => {
  await registry?.close();
  await tmp?.cleanup();
});

let serial = 0;
async function remoteFor(opts: { repo: string; signer?: SigningKey; trust?: string[] }): Promise<Remote> {
  const url = parseRemoteUrl(registry.url(opts.repo), 'test');
  if (!url.ok) throw url.error;
  const trusted = trustedKeys(opts.trust ?? [key.publicLine]);
  if (!trusted.ok) throw trusted.error;
  const r = await connectRemote({ url: url.value, tlsVerify: false, trusted: trusted.value, env: {}, ...(opts.signer ? { signingKey: opts.signer } : {}) });
  if (!r.ok) throw r.error;
  return r.value;
}

async function storeWithBuild(name: string, contents: string[]): Promise<{ store: Store; record: BuildRecord }> {
  const store = await freshStore(path.join(tmp.dir, `${name}-${serial++}`));
  const outputs: Digest[] = [];
  for (const c of contents) outputs.push(await putText(store, c));
  const rec = buildRecord({ pkg: name, outputs });
  const w = await store.writeRecords([rec]);
  if (!w.ok) throw w.error;
  return { store, record: rec.data as BuildRecord };
}

async function storedRecord(store: Store, id: string) {
  const r = await store.getRecord('build', id);
  if (!r.ok) throw r.error;
  return r.value;
}

describe('the store remote on a real registry', () => {
  it('pushes a record and its blobs, and a second store substitutes it, blobs verified, origin kept', async () => {
    const a = await storeWithBuild('roundtrip', ['wheel bytes ' + randomBytes(8).toString('hex'), randomBytes(300_000).toString('base64')]);
    const remote = await remoteFor({ repo: 'weld/rt', signer: key });
    const pusher = new Pusher(remote, a.store);
    const local = await storedRecord(a.store, a.record.cacheKey);
    const pushed = await pusher.pushRecord(local!);
    expect(pushed).toEqual({ ok: true, value: recordTag('build', a.record.cacheKey) });
    expect(pusher.report.blobsUploaded).toBe(3); // two outputs and the signed config
    // pushed again: one HEAD of the manifest, nothing sent
    const again = new Pusher(remote, a.store);
    await again.pushRecord(local!);
    expect(again.report).toMatchObject({ pushed: [], present: [recordTag('build', a.record.cacheKey)], blobsUploaded: 0 });

    const b = await freshStore(path.join(tmp.dir, `b-${serial++}`));
    const puller = new Puller(remote, b);
    const got = await puller.pull('build', a.record.cacheKey);
    if (!got.ok) throw got.error;
    expect(got.value?.blobsFetched).toBe(2);
    const inB = await storedRecord(b, a.record.cacheKey);
    expect(inB?.data).toMatchObject({ ...a.record, origin: { remote: registry.url('weld/rt'), keyId: 'ci-a' } });
    for (const o of a.record.outputs) expect(await b.has(o.digest)).toBe(true);
    // a key the registry never saw
    expect(await puller.pull('build', sha256Of('nothing'))).toEqual({ ok: true, value: undefined });
    await remote.client.close();
  });

  it('refuses a blob whose bytes the registry changed, and stores nothing of that record', async () => {
    const content = 'to be tampered ' + randomBytes(8).toString('hex');
    const a = await storeWithBuild('tampered', [content]);
    const remote = await remoteFor({ repo: 'weld/tamper', signer: key });
    const rec = await storedRecord(a.store, a.record.cacheKey);
    const pushed = await new Pusher(remote, a.store).pushRecord(rec!);
    expect(pushed.ok).toBe(true);
    const digest = a.record.outputs[0]!.digest;
    const hex = digest.slice(7);
    const data = path.join(registry.storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    expect(readFileSync(data, 'utf8')).toBe(content);
    writeFileSync(data, content.replace('tampered', 'TAMPERED'));
    const b = await freshStore(path.join(tmp.dir, `b-${serial++}`));
    const got = await new Puller(remote, b).pull('build', a.record.cacheKey);
    expect(got.ok).toBe(false);
    if (got.ok) return;
    expect(got.error.code).toBe('E_REMOTE_BLOB');
    expect(got.error.message).toContain(`blob ${digest}: its bytes hash to sha256:`);
    expect(await b.has(digest)).toBe(false);
    expect(await storedRecord(b, a.record.cacheKey)).toBeUndefined();
    await remote.client.close();
  });

  it('refuses unsigned records, records signed by an unknown key, and forged signatures, naming the key', async () => {
    const remote = await remoteFor({ repo: 'weld/trust', signer: other });
    const forge = async (name: string, envelope: (body: Buffer) => object) => {
      const a = await storeWithBuild(name, [`${name} ${randomBytes(4).toString('hex')}`]);
      const rec = (await storedRecord(a.store, a.record.cacheKey))!;
      const config = Buffer.from(JSON.stringify(envelope(signedBody(rec))));
      const cd = sha256Of(config);
      const up = await remote.client.pushBlob({ digest: cd, size: config.byteLength, open: () => config });
      expect(up.ok).toBe(true);
      const out = a.record.outputs[0]!;
      const blob = readFileSync(a.store.blobPath(out.digest));
      await remote.client.pushBlob({ digest: out.digest, size: blob.byteLength, open: () => blob });
      const m = recordManifest({ record: rec, config: { mediaType: RECORD_CONFIG_TYPE, digest: cd, size: config.byteLength }, blobs: [{ mediaType: 'application/vnd.weld.blob.v1', digest: out.digest, size: blob.byteLength }] });
      const put = await remote.client.putManifest(recordTag('build', a.record.cacheKey), m, 'application/vnd.oci.image.manifest.v1+json');
      expect(put.ok).toBe(true);
      const b = await freshStore(path.join(tmp.dir, `b-${serial++}`));
      const trusting = await remoteFor({ repo: 'weld/trust' });
      const got = await new Puller(trusting, b).pull('build', a.record.cacheKey);
      await trusting.client.close();
      expect(await storedRecord(b, a.record.cacheKey)).toBeUndefined();
      expect(await b.has(out.digest)).toBe(false);
      if (got.ok) throw new Error(`${name}: taken`);
      expect(got.error.code).toBe('E_REMOTE_UNTRUSTED');
      return got.error.message;
    };
    const unsigned = await forge('unsigned', (body) => ({ payloadType: RECORD_PAYLOAD_TYPE, payload: body.toString('base64'), signatures: [] }));
    expect(unsigned).toMatch(/: it is not signed; the record was refused$/);
    const unknown = await forge('unknownkey', (body) => signEnvelope({ payloadType: RECORD_PAYLOAD_TYPE, body, keyid: other.name, key: other.key }));
    expect(unknown).toContain('it is signed only by key "intruder", not in trusted_keys; the record was refused');
    // the trusted key's name, another key's signature
    const forged = await forge('forged', (body) => signEnvelope({ payloadType: RECORD_PAYLOAD_TYPE, body, keyid: key.name, key: other.key }));
    expect(forged).toContain('its signature by key "ci-a" does not verify');
    // a validly signed record with its data altered after signing
    const altered = await forge('altered', (body) => {
      const env = signEnvelope({ payloadType: RECORD_PAYLOAD_TYPE, body, keyid: key.name, key: key.key });
      const doc = JSON.parse(body.toString('utf8')) as { data: { version: string } };
      doc.data.version = '6.6.6';
      return { ...env, payload: Buffer.from(JSON.stringify(doc)).toString('base64') };
    });
    expect(altered).toContain('its signature by key "ci-a" does not verify');
    await remote.client.close();
  });

  it('refuses a signed record replayed under another key\'s tag', async () => {
    const a = await storeWithBuild('replay', [`replay ${randomBytes(4).toString('hex')}`]);
    const remote = await remoteFor({ repo: 'weld/replay', signer: key });
    const rec = (await storedRecord(a.store, a.record.cacheKey))!;
    expect((await new Pusher(remote, a.store).pushRecord(rec)).ok).toBe(true);
    const m = await remote.client.getManifest(recordTag('build', a.record.cacheKey));
    if (!m.ok || !m.value) throw new Error('no manifest');
    const victim = sha256Of('another key');
    expect((await remote.client.putManifest(recordTag('build', victim), m.value.body, 'application/vnd.oci.image.manifest.v1+json')).ok).toBe(true);
    const b = await freshStore(path.join(tmp.dir, `b-${serial++}`));
    const got = await new Puller(remote, b).pull('build', victim);
    expect(got.ok ? 'taken' : got.error.code).toBe('E_REMOTE_MANIFEST');
    await remote.client.close();
  });
});
