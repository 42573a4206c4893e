import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianMirrorFor, readAptSources } from '../../src/mirror/debian/apt-sources.js';
import { fetchSourcesIndex, upstreamVersion } from '../../src/mirror/debian/sources-index.js';
import { writeDebianArchive } from '../helpers/debian-archive.js';
import { deadUrl, fileServer, type TestServer } from '../helpers/servers.js';

describe('apt sources', () => {
  let apt: string;
  beforeAll(() => {
    apt = mkdtempSync(path.join(os.tmpdir(), 'weld-apt-'));
    mkdirSync(path.join(apt, 'sources.list.d'));
    writeFileSync(path.join(apt, 'sources.list'), '# comment\ndeb [arch=amd64] http://old.example/debian bullseye main\n');
    writeFileSync(
      path.join(apt, 'sources.list.d', 'debian.sources'),
      'Types: deb\n# note\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n\n' +
        'Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\nComponents: main\n\n' +
        'Types: deb\nURIs: http://off.example/debian\nSuites: trixie\nEnabled: no\n',
    );
    writeFileSync(path.join(apt, 'sources.list.d', 'other.list.disabled'), 'deb http://ignored.example/ trixie main\n');
  });
  afterAll(() => rmSync(apt, { recursive: true, force: true }));

  it('reads one-line and deb822 sources, skipping disabled ones', () => {
    expect(readAptSources(apt).map((e) => `${e.uri} ${e.suites.join(',')}`)).toEqual([
      'http://old.example/debian bullseye',
      'http://mirror.example/debian/ bookworm,bookworm-updates',
      'http://security.example/debian-security bookworm-security',
    ]);
  });

  it('picks the mirror serving the suite, else the main archive; WELD_DEBIAN_MIRROR wins', () => {
    expect(debianMirrorFor({ suite: 'bookworm', aptDir: apt })).toBe('http://mirror.example/debian');
    expect(debianMirrorFor({ suite: 'bullseye', aptDir: apt })).toBe('http://old.example/debian');
    // No entry lists trixie: for sources, the first main-archive entry serves every release.
    expect(debianMirrorFor({ suite: 'trixie', aptDir: apt })).toBeUndefined();
    expect(debianMirrorFor({ suite: 'trixie', aptDir: apt, anyRelease: true })).toBe('http://old.example/debian');
    expect(debianMirrorFor({ suite: 'trixie', aptDir: path.join(apt, 'none'), anyRelease: true })).toBeUndefined();
    expect(debianMirrorFor({ suite: 'trixie', aptDir: apt, env: { WELD_DEBIAN_MIRROR: 'http://x.example/debian/' } })).toBe('http://x.example/debian');
  });
});

describe('Sources index', () => {
  let root: string;
  let server: TestServer;
  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'weld-archive-'));
    const files = (n: string, v: string) => [{ name: `${n}_${v}.orig.tar.gz`, content: Buffer.from(`${n} ${v}`) }];
    writeDebianArchive(root, {
      suite: 'bookworm',
      sources: [
        { package: 'six', version: '1.16.0-4', files: files('six', '1.16.0') },
        { package: 'pluggy', version: '1:1.0.0+repack-2', files: files('pluggy', '1.0.0+repack') },
        ...Array.from({ length: 300 }, (_, i) => ({ package: `filler${i}`, version: '1.0-1', files: files(`filler${i}`, '1.0') })),
      ],
    });
    writeDebianArchive(root, { suite: 'gzonly', compress: 'gz', sources: [{ package: 'six', version: '1.15.0-2', files: files('six', '1.15.0') }] });
    server = await fileServer(root);
  });
  afterAll(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('streams Sources.xz and keeps only the wanted packages', async () => {
    const r = await fetchSourcesIndex({ base: server.url, suite: 'bookworm', component: 'main', wanted: new Set(['six', 'pluggy', 'absent']) });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect([...r.value.keys()].sort()).toEqual(['pluggy', 'six']);
    expect(r.value.get('six')).toEqual([
      { package: 'six', version: '1.16.0-4', directory: 'pool/main/s/six', files: [{ name: 'six_1.16.0.orig.tar.gz', sha256: expect.stringMatching(/^[0-9a-f]{64}$/), size: 10 }], binaries: ['python3-six'], buildDepends: '' },
    ]);
  });

  it('keeps every stanza without a wanted set, with its binaries and Build-Depends (continuation lines joined)', async () => {
    const r = await fetchSourcesIndex({ base: server.url, suite: 'bookworm', component: 'main' });
    expect(r.ok && r.value.size).toBe(302);
    const multi = mkdtempSync(path.join(os.tmpdir(), 'weld-archive-multi-'));
    try {
      writeDebianArchive(multi, { suite: 'bookworm', sources: [{ package: 'pyyaml', version: '6.0-3', binaries: ['python3-yaml', 'python3-yaml-dbg'], buildDepends: 'debhelper-compat (= 13),\n libyaml-dev (>= 0.2.2~),\n cython3', homepage: 'https://pyyaml.org/', files: [] }] });
      const s = await fileServer(multi);
      const got = await fetchSourcesIndex({ base: s.url, suite: 'bookworm', component: 'main' });
      await s.close();
      expect(got.ok && got.value.get('pyyaml')?.[0]).toMatchObject({ binaries: ['python3-yaml', 'python3-yaml-dbg'], buildDepends: 'debhelper-compat (= 13), libyaml-dev (>= 0.2.2~), cython3', homepage: 'https://pyyaml.org/' });
    } finally {
      rmSync(multi, { recursive: true, force: true });
    }
  });

  it('falls back to Sources.gz', async () => {
    const r = await fetchSourcesIndex({ base: server.url, suite: 'gzonly', component: 'main', wanted: new Set(['six']) });
    expect(r.ok && r.value.get('six')?.[0]?.version).toBe('1.15.0-2');
  });

  it('names the index URL when the suite is missing or the server is down', async () => {
    const missing = await fetchSourcesIndex({ base: server.url, suite: 'sid', component: 'main', wanted: new Set(['six']) });
    expect(!missing.ok && missing.error.message).toBe(`cannot fetch ${server.url}/dists/sid/main/source/Sources.gz: HTTP 404 Not Found`);
    const base = await deadUrl();
    const down = await fetchSourcesIndex({ base, suite: 'bookworm', component: 'main', wanted: new Set(['six']) });
    expect(!down.ok && down.error.message).toBe(`cannot fetch ${base}/dists/bookworm/main/source/Sources.xz: connection refused (is the server up?)`);
  });

  it('derives upstream versions', () => {
    expect(upstreamVersion('6.0-3')).toBe('6.0');
    expect(upstreamVersion('1:1.0.0+repack-2')).toBe('1.0.0+repack');
    expect(upstreamVersion('3.1.2-1+deb12u3')).toBe('3.1.2');
    expect(upstreamVersion('20230101')).toBe('20230101');
  });
});
