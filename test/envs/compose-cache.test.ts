import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeEnv, type ComposedImage } from '../../src/envs/compose.js';
import { cacheRootName } from '../../src/envs/compose-cache.js';
import type { EnvEvent } from '../../src/envs/events.js';
import { envInputsDigest } from '../../src/envs/inputs.js';
import { bucketOf } from '../../src/envs/layer.js';
import type { Env, LockedDeb } from '../../src/metadata/model.js';
import type { Digest } from '../../src/store/digest.js';
import { blobPath } from '../../src/store/layout.js';
import type { Store } from '../../src/store/store.js';
import { buildDeb } from '../helpers/debs.js';
import { freshStore, tempDir } from '../helpers/store-temp.js';

// The compose cache against the real thing: debs built by dpkg-deb, a real store, and
// always the same question: is the image what a compose without any cache makes?

function envOf(debs: LockedDeb[]): Env {
  const base = { name: 'cached', kind: 'builder' as const, arch: 's390x' as const, suite: 'bookworm', components: ['main'], packages: debs.map((d) => d.name).sort(), file: 'metadata/envs/cached.toml' };
  return { ...base, lock: { file: 'metadata/envs/cached.lock.toml', inputs: envInputsDigest(base), suite: 'bookworm', arch: 's390x', debs } };
}

/** Two names whose debs share a layer and one whose deb is in another. */
function names(): { a: string; b: string; c: string } {
  const pool = Array.from({ length: 200 }, (_, i) => `pkg${i}`);
  const a = pool[0]!;
  const b = pool.find((n) => n !== a && bucketOf(n) === bucketOf(a))!;
  const c = pool.find((n) => bucketOf(n) !== bucketOf(a))!;
  return { a, b, c };
}

describe('the env compose cache', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const n = names();
  // a layer per bucket of debs, and weld's own
  const LAYERS = new Set([n.a, n.b, n.c, 'base-passwd'].map(bucketOf)).size + 1;
  const all: Array<{ bytes: Buffer; locked: LockedDeb }> = [];
  let lock1: LockedDeb[];
  let lock2: LockedDeb[];
  let cold2: ComposedImage;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('weld-compose-cache-'));
    const deb = (name: string, version: string, files: Parameters<typeof buildDeb>[0]['files']) => {
      const d = buildDeb({ dir: path.join(dir, `${name}-${version}`), name, version, files });
      all.push(d);
      return d.locked;
    };
    const passwd = deb('base-passwd', '1', [{ path: 'usr/share/base-passwd/passwd.master', content: 'root:*:0:0:root:/root:/bin/sh\n' }, { path: 'usr/share/base-passwd/group.master', content: 'root:*:0:\n' }]);
    const a1 = deb(n.a, '1', [{ path: `usr/lib/${n.a}/lib.so`, content: 'a version 1\n'.repeat(100) }, { path: `usr/bin/${n.a}`, content: '#!/bin/sh\n', mode: 0o755 }]);
    const a2 = deb(n.a, '2', [{ path: `usr/lib/${n.a}/lib.so`, content: 'a version 2\n'.repeat(100) }, { path: `usr/bin/${n.a}`, content: '#!/bin/sh\n', mode: 0o755 }]);
    const b = deb(n.b, '1', [{ path: `usr/lib/${n.b}/data`, content: 'b'.repeat(3000) }, { path: `usr/lib/${n.b}/same`, hardlink: `usr/lib/${n.b}/data` }, { path: `usr/lib/${n.b}/to-a`, symlink: `../${n.a}/lib.so` }]);
    const c = deb(n.c, '1', [{ path: `usr/share/${n.c}/c.txt`, content: 'c\n' }]);
    const sorted = (ds: LockedDeb[]) => [...ds].sort((x, y) => (x.name < y.name ? -1 : 1));
    lock1 = sorted([passwd, a1, b, c]);
    lock2 = sorted([passwd, a2, b, c]);
    cold2 = await compose({ store: await storeWith('cold2'), debs: lock2, cache: false });
  });
  afterAll(() => cleanup());

  async function storeWith(sub: string): Promise<Store> {
    const store = await freshStore(path.join(dir, sub));
    for (const d of all) {
      const r = await store.put([d.bytes]);
      if (!r.ok) throw r.error;
    }
    return store;
  }

  async function compose(opts: { store: Store; debs: LockedDeb[]; cache?: boolean; force?: boolean; warnings?: string[] }): Promise<ComposedImage> {
    const r = await composeEnv({
      env: envOf(opts.debs),
      store: opts.store,
      ...(opts.cache === false ? { cache: false } : {}),
      ...(opts.force ? { force: true } : {}),
      onEvent: (e: EnvEvent) => void (e.type === 'warning' && opts.warnings?.push(e.data.message)),
    });
    if (!r.ok) throw r.error;
    return r.value;
  }

  /** The store's cache index: its blob and its JSON. */
  async function cacheIndex(store: Store): Promise<{ digest: Digest; json: { trees: Record<string, { entries: unknown[][] }> } }> {
    const root = await store.getRecord('root', cacheRootName('cached'));
    if (!root.ok || !root.value) throw new Error('no cache root');
    const digest = root.value.data.digests[0]!;
    return { digest, json: JSON.parse(readFileSync(blobPath(store.layout, digest), 'utf8')) };
  }

  function overwrite(store: Store, digest: Digest, edit: (b: Buffer) => Buffer): void {
    const file = blobPath(store.layout, digest);
    const bytes = edit(readFileSync(file));
    chmodSync(file, 0o644);
    writeFileSync(file, bytes);
  }

  it('re-reads only the deb that changed, writes only its layer, and makes the image a compose without the cache makes', async () => {
    const store = await storeWith('one-change');
    const first = await compose({ store, debs: lock1 });
    expect(first.stats).toEqual({ debs: 4, debsRead: 4, layers: LAYERS, layersWritten: LAYERS });
    const warnings: string[] = [];
    const again = await compose({ store, debs: lock2, warnings });
    expect(warnings).toEqual([]);
    // n.b shares the layer with n.a: its bytes come from that layer as it was, not from its deb
    expect(again.stats).toEqual({ debs: 4, debsRead: 1, layers: LAYERS, layersWritten: 1 });
    expect(again.record.manifest).toBe(cold2.record.manifest);
    expect(again.record.layers).toEqual(cold2.record.layers);
    expect(again.record.layers.filter((l) => first.record.layers.includes(l))).toHaveLength(LAYERS - 1);
    // the same lock again: nothing is read or written
    const same = await compose({ store, debs: lock2, force: true });
    expect(same.stats).toEqual({ debs: 4, debsRead: 0, layers: LAYERS, layersWritten: 0 });
    expect(same.record.manifest).toBe(again.record.manifest);
    // and back: the cache holds the current lock's debs only, so the old deb is read again
    const back = await compose({ store, debs: lock1, force: true });
    expect(back.stats).toEqual({ debs: 4, debsRead: 1, layers: LAYERS, layersWritten: 1 });
    expect(back.record.manifest).toBe(first.record.manifest);
  });

  it('gives the same image with the cache on in an empty store, and keeps only the current blobs as its root', async () => {
    const store = await storeWith('empty-cache');
    const r = await compose({ store, debs: lock2 });
    expect(r.record.manifest).toBe(cold2.record.manifest);
    const root = await store.getRecord('root', cacheRootName('cached'));
    expect(root.ok && root.value?.data.digests.slice(1).sort()).toEqual([...r.record.layers].sort());
  });

  it('does not trust a damaged index blob: says so, reads every deb, same image', async () => {
    const store = await storeWith('bad-index');
    await compose({ store, debs: lock1 });
    const { digest } = await cacheIndex(store);
    overwrite(store, digest, (b) => Buffer.concat([b.subarray(0, 40), Buffer.from('garbage')]));
    const warnings: string[] = [];
    const r = await compose({ store, debs: lock2, warnings });
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`^the compose cache of env "cached" is not used: blob ${digest} is damaged \\(its bytes hash to sha256:[0-9a-f]{64}\\); composing without it$`))]);
    expect(r.stats).toMatchObject({ debsRead: 4, layersWritten: LAYERS });
    expect(r.record.manifest).toBe(cold2.record.manifest);
  });

  it('does not use a cached tree of the wrong shape: that deb is read again', async () => {
    const store = await storeWith('bad-shape');
    await compose({ store, debs: lock1 });
    const { json } = await cacheIndex(store);
    const c = lock1.find((d) => d.name === n.c)!;
    json.trees[c.sha256]!.entries[0]![0] = '../../etc/shadow';
    await store.writeRecords([await rootWith(store, json)]);
    const warnings: string[] = [];
    const r = await compose({ store, debs: lock2, warnings });
    expect(warnings).toEqual([`the cached tree of deb ${c.sha256.slice(0, 12)} is not used (entry 0: path "../../etc/shadow" is not a clean relative path); reading the deb again`]);
    expect(r.stats).toMatchObject({ debsRead: 2 });
    expect(r.record.manifest).toBe(cold2.record.manifest);
  });

  it('catches a well-formed cached tree that lies about a deb, and composes without the cache', async () => {
    const store = await storeWith('lying-tree');
    await compose({ store, debs: lock1 });
    const { json } = await cacheIndex(store);
    const b = lock1.find((d) => d.name === n.b)!;
    const row = json.trees[b.sha256]!.entries.find((e) => e[0] === `usr/lib/${n.b}/data`)!;
    row[5] = `sha256:${'0'.repeat(64)}`; // the layer's bytes do not hash to that, so the deb is read, and it disagrees
    await store.writeRecords([await rootWith(store, json)]);
    const warnings: string[] = [];
    const r = await compose({ store, debs: lock2, warnings });
    expect(warnings).toEqual([`the cached tree of ${b.path} does not match the deb; composing without the cache`]);
    expect(r.record.manifest).toBe(cold2.record.manifest);
    expect(r.stats).toMatchObject({ debsRead: 4 });
  });

  it('takes no bytes from a damaged earlier layer: the deb they belong to is read instead', async () => {
    const store = await storeWith('bad-layer');
    const first = await compose({ store, debs: lock1 });
    const sharedLayer = first.record.layers.find((l) => !cold2.record.layers.includes(l))!;
    overwrite(store, sharedLayer, (bytes) => Buffer.from(bytes.toString('latin1').replace('bbbbbbbb', 'XXXXXXXX'), 'latin1'));
    const r = await compose({ store, debs: lock2 });
    expect(r.stats).toMatchObject({ debsRead: 2, layersWritten: 1 });
    expect(r.record.manifest).toBe(cold2.record.manifest);
  });

  /** A cache root whose index is `json`, put as a new (well-formed, self-consistent) blob. */
  async function rootWith(store: Store, json: unknown) {
    const put = await store.put([Buffer.from(JSON.stringify(json))]);
    if (!put.ok) throw put.error;
    const name = cacheRootName('cached');
    return { kind: 'root' as const, id: name, data: { name, digests: [put.value.digest], createdAt: new Date().toISOString() } };
  }
});
