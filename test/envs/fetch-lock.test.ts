import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchEnv } from '../../src/envs/fetch.js';
import { envInputsDigest } from '../../src/envs/inputs.js';
import { formatEnvLock } from '../../src/envs/lock-file.js';
import { parsePackages, parsePrintUris } from '../../src/envs/apt.js';
import type { Env, LockedDeb } from '../../src/metadata/model.js';
import { openMetadata } from '../../src/metadata/open.js';
import { buildDeb } from '../helpers/debs.js';
import { sampleProject, weld } from '../helpers/project.js';
import { fileServer, type TestServer } from '../helpers/servers.js';
import { freshStore, tempDir } from '../helpers/store-temp.js';

describe('fetching locked debs', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: TestServer;
  let locked: LockedDeb[];
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('weld-fetch-'));
    const archive = path.join(dir, 'archive');
    locked = ['alpha', 'beta', 'gamma'].map((name) => {
      const d = buildDeb({ dir, name, files: [{ path: `usr/share/${name}`, content: name }] });
      mkdirSync(path.join(archive, path.dirname(d.locked.path)), { recursive: true });
      writeFileSync(path.join(archive, d.locked.path), d.bytes);
      return d.locked;
    });
    server = await fileServer(archive);
  });
  afterAll(async () => {
    await server.close();
    await cleanup();
  });

  const envOf = (debs: LockedDeb[]): Env => {
    const base = { name: 'tiny', kind: 'builder' as const, arch: 's390x' as const, suite: 'bookworm', components: ['main'], packages: ['alpha'], file: 'x' };
    return { ...base, lock: { file: 'y', inputs: envInputsDigest(base), suite: 'bookworm', arch: 's390x', debs } };
  };

  it('downloads every deb once, verified, and skips what the store has', async () => {
    const store = await freshStore(path.join(dir, 's1'));
    const processEnv = { WELD_DEBIAN_MIRROR: server.url };
    const first = await fetchEnv({ env: envOf(locked), store, processEnv });
    expect(first.ok && first.value).toEqual({ debs: 3, downloaded: 3, bytes: locked.reduce((n, d) => n + d.size, 0) });
    const requests = server.requests.length;
    const second = await fetchEnv({ env: envOf(locked), store, processEnv });
    expect(second.ok && second.value.downloaded).toBe(0);
    expect(server.requests.length).toBe(requests);
    for (const d of locked) expect(await store.has(`sha256:${d.sha256}`)).toBe(true);
  });

  it('refuses a deb whose sha256 does not match the lock and stores nothing of it', async () => {
    const store = await freshStore(path.join(dir, 's2'));
    const wrong = { ...locked[1]!, sha256: 'ab'.repeat(32) };
    const r = await fetchEnv({ env: envOf([locked[0]!, wrong]), store, processEnv: { WELD_DEBIAN_MIRROR: server.url }, concurrency: 1 });
    expect(!r.ok && r.error.code).toBe('E_CHECKSUM_MISMATCH');
    expect(await store.has(`sha256:${locked[1]!.sha256}`)).toBe(false);
  });
});

describe('the env lock file', () => {
  let root: string;
  let done: () => void;
  beforeAll(() => ({ root, cleanup: done } = sampleProject()));
  afterAll(() => done());

  it('round-trips through the metadata loader, sorted', async () => {
    const debs: LockedDeb[] = [
      { name: 'zlib1g', version: '1:1.2.13.dfsg-1', arch: 's390x', path: 'pool/main/z/zlib/zlib1g_1.2.13.dfsg-1_s390x.deb', sha256: '1'.repeat(64), size: 10 },
      { name: 'bash', version: '5.2.15-2+b2', arch: 's390x', path: 'pool/main/b/bash/bash_5.2.15-2+b2_s390x.deb', sha256: '2'.repeat(64), size: 20 },
    ];
    const m = await openMetadata({ cwd: root, cache: false });
    if (!m.ok) throw m.error;
    const envDef = m.value.envs.get('bookworm-s390x-runtime')!;
    const text = formatEnvLock({ env: envDef.name, lock: { inputs: envInputsDigest(envDef), suite: 'bookworm', arch: 's390x', debs } });
    writeFileSync(path.join(root, 'metadata/envs/bookworm-s390x-runtime.lock.toml'), text);
    const again = await openMetadata({ cwd: root, cache: false });
    if (!again.ok) throw again.error;
    const lock = again.value.envs.get('bookworm-s390x-runtime')!.lock!;
    expect(lock.debs.map((d) => d.name)).toEqual(['bash', 'zlib1g']);
    expect(lock).toMatchObject({ suite: 'bookworm', arch: 's390x', inputs: envInputsDigest(envDef) });
    expect((await weld(['env', 'ls'], { cwd: root, env: { WELD_STORE: path.join(root, 'nostore') } })).stdout).toMatch(/^bookworm-s390x-runtime +runtime +s390x +bookworm +2 debs +-$/m);
  });

  it('points at a lock entry whose path leaves the pool', async () => {
    const file = path.join(root, 'metadata/envs/bookworm-s390x-runtime.lock.toml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('pool/main/b/bash/bash_5.2.15-2+b2_s390x.deb', 'pool/../../etc/passwd.deb'));
    const r = await weld(['check'], { cwd: root });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('metadata/envs/bookworm-s390x-runtime.lock.toml:12:8: error: path must be an archive pool path like "pool/main/b/bash/bash_5.2.15-2+b2_s390x.deb"; regenerate the lock with `weld env lock`');
  });

  it('parses what apt prints', () => {
    expect(parsePrintUris("'http://m/debian/pool/main/b/bash/bash_5.2%2b1_s390x.deb' bash_5.2+1_s390x.deb 1500 SHA256:" + 'a'.repeat(64) + '\n')).toEqual([{ url: 'http://m/debian/pool/main/b/bash/bash_5.2%2b1_s390x.deb', size: 1500, sha256: 'a'.repeat(64) }]);
    expect(parsePackages('Package: dash\nEssential: yes\nVersion: 0.5.12-2\nArchitecture: s390x\nFilename: pool/main/d/dash/dash_0.5.12-2_s390x.deb\nSize: 9\nSHA256: ' + 'b'.repeat(64) + '\n\nPackage: x\n')).toEqual([
      { name: 'dash', version: '0.5.12-2', arch: 's390x', filename: 'pool/main/d/dash/dash_0.5.12-2_s390x.deb', sha256: 'b'.repeat(64), size: 9, essential: true },
    ]);
  });
});
