import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeEnv, findComposed } from '../../src/envs/compose.js';
import { envInputsDigest } from '../../src/envs/inputs.js';
import { ociArchive } from '../../src/archive/oci-archive.js';
import type { Env, LockedDeb } from '../../src/metadata/model.js';
import { blobPath } from '../../src/store/layout.js';
import type { Store } from '../../src/store/store.js';
import { buildDeb } from '../helpers/debs.js';
import { freshStore, tempDir } from '../helpers/store-temp.js';

function envOf(debs: LockedDeb[], name = 'tiny'): Env {
  const base = { name, kind: 'builder' as const, arch: 's390x' as const, suite: 'bookworm', components: ['main'], packages: debs.map((d) => d.name), file: `metadata/envs/${name}.toml` };
  return { ...base, lock: { file: `metadata/envs/${name}.lock.toml`, inputs: envInputsDigest(base), suite: 'bookworm', arch: 's390x', debs } };
}

describe('composing an env image', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let debs: Array<{ bytes: Buffer; locked: LockedDeb }>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('weld-compose-'));
    debs = [
      buildDeb({ dir, name: 'base-passwd', files: [{ path: 'usr/share/base-passwd/passwd.master', content: 'root:*:0:0:root:/root:/bin/sh\n' }, { path: 'usr/share/base-passwd/group.master', content: 'root:*:0:\n' }] }),
      buildDeb({ dir, name: 'hello', compression: 'gzip', files: [{ path: 'usr/bin/hello', content: 'hi\n', mode: 0o755 }, { path: 'usr/bin/aaa-link', hardlink: 'usr/bin/hello' }, { path: 'bin/hi', symlink: '/usr/bin/hello' }] }),
      buildDeb({ dir, name: 'zz-data', compression: 'zstd', files: [{ path: 'usr/share/zz/data', content: 'z'.repeat(5000) }] }),
    ];
  });
  afterAll(() => cleanup());

  async function storeWith(sub: string): Promise<Store> {
    const store = await freshStore(path.join(dir, sub));
    for (const d of debs) {
      const r = await store.put([d.bytes]);
      if (!r.ok) throw r.error;
    }
    return store;
  }

  it('gives the same image digest from the same lock in another store', async () => {
    const env = envOf(debs.map((d) => d.locked));
    const a = await composeEnv({ env, store: await storeWith('a') });
    const b = await composeEnv({ env, store: await storeWith('b') });
    if (!a.ok || !b.ok) throw new Error('compose failed');
    expect(a.value.reused).toBe(false);
    expect(b.value.record.manifest).toBe(a.value.record.manifest);
    expect(b.value.record.layers).toEqual(a.value.record.layers);
    expect(a.value.tag).toBe(`weld-env/tiny:${a.value.record.manifest.slice(7, 19)}`);
  });

  it('writes sorted layers owned by root with fixed mtimes that stack to one tree: /etc/passwd, /etc/group and a 1777 /tmp', async () => {
    const store = await storeWith('layer');
    const r = await composeEnv({ env: envOf(debs.map((d) => d.locked)), store });
    if (!r.ok) throw r.error;
    const layers = r.value.record.layers.map((d) => blobPath(store.layout, d));
    const rowsOf = (layer: string) =>
      execFileSync('tar', ['--numeric-owner', '--full-time', '-tvf', layer], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } })
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/));
    const perLayer = layers.map(rowsOf);
    const namesOf = (rows: string[][]) => rows.map((row) => row.slice(5).join(' '));
    for (const rows of perLayer) expect(namesOf(rows)).toEqual([...namesOf(rows)].sort());
    // a path is in one layer only, but for the directories above it
    const seen = new Map<string, string>();
    for (const rows of perLayer) for (const row of rows) {
      const name = row.slice(5).join(' ');
      if (seen.has(name)) expect([name, row[0]![0]]).toEqual([name, 'd']);
      else seen.set(name, row[0]!);
    }
    expect([...seen.keys()].sort()).toEqual([
      'bin/', 'bin/hi -> /usr/bin/hello', 'etc/', 'etc/group', 'etc/passwd', 'tmp/', 'usr/', 'usr/bin/', 'usr/bin/aaa-link', 'usr/bin/hello link to usr/bin/aaa-link',
      'usr/share/', 'usr/share/base-passwd/', 'usr/share/base-passwd/group.master', 'usr/share/base-passwd/passwd.master', 'usr/share/zz/', 'usr/share/zz/data',
    ]);
    const all = perLayer.flat();
    for (const row of all) expect([row[1], row[3], row[4]]).toEqual(['0/0', '1980-01-01', '00:00:00']);
    expect(all.find((row) => row[5] === 'tmp/')![0]).toBe('drwxrwxrwt');
    expect(all.find((row) => row[5] === 'usr/bin/aaa-link')![0]).toBe('-rwxr-xr-x');
    expect(namesOf(perLayer.at(-1)!)).toEqual(['etc/', 'etc/group', 'etc/passwd', 'tmp/']); // weld's own layer last
    const out = path.join(dir, 'unpacked');
    mkdirSync(out);
    for (const layer of layers) execFileSync('tar', ['-xf', layer, '-C', out]);
    expect(execFileSync('cat', [path.join(out, 'etc/passwd'), path.join(out, 'usr/bin/aaa-link')], { encoding: 'utf8' })).toBe('root:*:0:0:root:/root:/bin/sh\nhi\n');
  });

  it('reuses the image of an unchanged lock, and finds it for shell', async () => {
    const store = await storeWith('reuse');
    const env = envOf(debs.map((d) => d.locked));
    const first = await composeEnv({ env, store });
    const again = await composeEnv({ env, store });
    if (!first.ok || !again.ok) throw new Error('compose failed');
    expect(again.value.reused).toBe(true);
    expect(again.value.record.manifest).toBe(first.value.record.manifest);
    expect((await findComposed({ env, store }))?.tag).toBe(first.value.tag);
    const archive = await ociArchive({ blobs: store, image: first.value.record, ref: first.value.tag });
    if (!archive.ok) throw archive.error;
    const file = path.join(dir, 'image.tar');
    const chunks: Buffer[] = [];
    for await (const c of archive.value) chunks.push(c as Buffer);
    writeFileSync(file, Buffer.concat(chunks));
    const names = execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n');
    expect(names.slice(0, 4)).toEqual(['oci-layout', 'index.json', 'blobs/', 'blobs/sha256/']);
    expect(names).toContain(`blobs/sha256/${first.value.record.manifest.slice(7)}`);
  });

  it('refuses a deb whose bytes do not match the lock', async () => {
    const store = await storeWith('corrupt');
    const victim = debs[1]!.locked;
    const file = blobPath(store.layout, `sha256:${victim.sha256}`);
    chmodSync(file, 0o644);
    writeFileSync(file, Buffer.from('tampered'));
    const r = await composeEnv({ env: envOf(debs.map((d) => d.locked)), store });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('E_DEB_DIGEST_MISMATCH');
    expect(r.error.message).toMatch(new RegExp(`^${victim.path.replace(/[.+]/g, '\\$&')}: the lock says sha256 ${victim.sha256} but the bytes hash to [0-9a-f]{64}$`));
  });

  it('says which debs are not fetched yet, and when the lock is stale', async () => {
    const store = await freshStore(path.join(dir, 'empty'));
    const r = await composeEnv({ env: envOf(debs.map((d) => d.locked)), store });
    expect(!r.ok && [r.error.code, r.error.message, r.error.hint]).toEqual(['E_DEB_NOT_FETCHED', `3 locked .debs are not in the store (first: ${debs[0]!.locked.path})`, 'run `weld env fetch tiny`']);
    const stale = { ...envOf(debs.map((d) => d.locked)), packages: ['hello'] };
    const s = await composeEnv({ env: stale, store });
    expect(!s.ok && s.error.code).toBe('E_ENV_LOCK_STALE');
  });
});
