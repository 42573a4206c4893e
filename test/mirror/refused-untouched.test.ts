import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mirrorPath } from '../../src/mirror/location.js';
import { discardStage, openStage, publishStage } from '../../src/mirror/stage.js';
import { git } from '../helpers/git.js';
import { fileServer, type TestServer } from '../helpers/servers.js';
import { entry, tar } from '../helpers/tar.js';
import { createPatch, project, sha256, snapshot, type Project } from './project-fixture.js';

// A mirror that is refused leaves its repository exactly as it was (refs,
// packed-refs, config, every object file), for every upstream kind, and a first
// mirror that is refused leaves no repository at all.

const release = (top: string, extra: Buffer[] = []) =>
  tar(entry({ name: `${top}/`, type: '5', mode: 0o755 }), entry({ name: `${top}/hello.py`, data: 'print("hello")\n' }), ...extra);

const ESCAPE = createPatch({ file: 'link', content: '../../../../tmp', link: true });

function sources(root: string, stanzas: string[]): void {
  const dir = path.join(root, 'dists/bookworm/main/source');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'Sources.gz'), gzipSync(`${stanzas.join('\n\n')}\n`));
}

function stanza(opts: { pkg: string; version: string; directory: string; files: Array<{ name: string; bytes: Buffer }> }): string {
  return [
    `Package: ${opts.pkg}`,
    `Version: ${opts.version}`,
    `Directory: ${opts.directory}`,
    'Checksums-Sha256:',
    ...opts.files.map((f) => ` ${sha256(f.bytes)} ${f.bytes.length} ${f.name}`),
  ].join('\n');
}

describe('a refused mirror changes nothing', () => {
  let p: Project;
  let www: string;
  let files: TestServer;
  let upstream: string;
  let archive: string;
  let env: NodeJS.ProcessEnv;

  const failure = async (pkg: string) => {
    const r = (await p.mirror([pkg], env)).get(pkg)!;
    expect(r.ok).toBe(false);
    return r.ok ? undefined! : r.error;
  };

  beforeAll(async () => {
    p = project();
    www = path.join(p.tmp, 'www');
    mkdirSync(www);
    files = await fileServer(www);
    upstream = path.join(p.tmp, 'upstream');
    mkdirSync(upstream);
    writeFileSync(path.join(upstream, 'hello.py'), 'print("hello")\n');
    git(upstream, 'init', '-q', '-b', 'main');
    git(upstream, 'add', '-A');
    git(upstream, 'commit', '-q', '-m', 'one');
    git(upstream, 'tag', 'v1.0');
    archive = path.join(p.tmp, 'archive');
    env = { WELD_DEBIAN_MIRROR: `file://${archive}` };
  });
  afterAll(async () => {
    await files.close();
    p.cleanup();
  });

  it('git upstream: a fetch of a new tag followed by a refused patch leaves the mirror as it was', async () => {
    p.pkg('gitpkg', `git = "${upstream}"\ntag = "v1.0"`);
    expect((await p.mirror(['gitpkg'], env)).get('gitpkg')!.ok).toBe(true);
    const before = snapshot(mirrorPath(p.mirrors, 'gitpkg'));
    writeFileSync(path.join(upstream, 'two.py'), 'print(2)\n');
    git(upstream, 'add', '-A');
    git(upstream, 'commit', '-q', '-m', 'two');
    git(upstream, 'tag', 'v2.0');
    p.pkg('gitpkg', `git = "${upstream}"\ntag = "v2.0"`, { version: '2.0' });
    p.patches('gitpkg', { '0001-link.patch': ESCAPE });
    const e = await failure('gitpkg');
    expect(e.code).toBe('E_PATCH_LINK_ESCAPE');
    expect(snapshot(mirrorPath(p.mirrors, 'gitpkg'))).toEqual(before);
    p.patches('gitpkg', {});
  });

  it('git upstream: a first mirror refused for a missing tag leaves no directory', async () => {
    p.pkg('gitnew', `git = "${upstream}"\ntag = "v9.9"`);
    const e = await failure('gitnew');
    expect(e.code).toBe('E_UPSTREAM_REF');
    expect(existsSync(mirrorPath(p.mirrors, 'gitnew'))).toBe(false);
  });

  it('tarball upstream: a backslash entry is refused by weld itself, and the mirror is left as it was', async () => {
    const good = release('tarpkg-1.0');
    writeFileSync(path.join(www, 'tarpkg-1.0.tar'), good);
    p.pkg('tarpkg', `tarball = "${files.url}/tarpkg-1.0.tar"\nsha256 = "${sha256(good)}"`);
    expect((await p.mirror(['tarpkg'], env)).get('tarpkg')!.ok).toBe(true);
    const before = snapshot(mirrorPath(p.mirrors, 'tarpkg'));
    const bad = release('tarpkg-1.1', [entry({ name: 'tarpkg-1.1/..\\..\\x', data: 'x' })]);
    writeFileSync(path.join(www, 'tarpkg-1.1.tar'), bad);
    p.pkg('tarpkg', `tarball = "${files.url}/tarpkg-1.1.tar"\nsha256 = "${sha256(bad)}"`, { version: '1.1' });
    for (let run = 0; run < 2; run++) {
      const e = await failure('tarpkg');
      expect(e.code).toBe('E_TARBALL_UNSAFE_PATH');
      expect(e.message).toContain('entry "tarpkg-1.1/..\\..\\x" has a backslash');
      expect(snapshot(mirrorPath(p.mirrors, 'tarpkg'))).toEqual(before);
    }
  });

  it('tarball upstream: a good import followed by a refused patch writes no object', async () => {
    const before = snapshot(mirrorPath(p.mirrors, 'tarpkg'));
    const good = release('tarpkg-1.2');
    writeFileSync(path.join(www, 'tarpkg-1.2.tar'), good);
    p.pkg('tarpkg', `tarball = "${files.url}/tarpkg-1.2.tar"\nsha256 = "${sha256(good)}"`, { version: '1.2' });
    p.patches('tarpkg', { '0001-link.patch': ESCAPE });
    expect((await failure('tarpkg')).code).toBe('E_PATCH_LINK_ESCAPE');
    expect(snapshot(mirrorPath(p.mirrors, 'tarpkg'))).toEqual(before);
    p.patches('tarpkg', {});
  });

  it('tarball upstream: a first mirror refused leaves no directory and no staging behind', async () => {
    const bad = release('tarnew-1.0', [entry({ name: 'tarnew-1.0/a\\b', data: 'x' })]);
    writeFileSync(path.join(www, 'tarnew-1.0.tar'), bad);
    p.pkg('tarnew', `tarball = "${files.url}/tarnew-1.0.tar"\nsha256 = "${sha256(bad)}"`);
    expect((await failure('tarnew')).code).toBe('E_TARBALL_UNSAFE_PATH');
    expect(existsSync(mirrorPath(p.mirrors, 'tarnew'))).toBe(false);
    expect(readdirSync(p.mirrors).filter((n) => !n.endsWith('.git'))).toEqual([]);
  });

  it('debian upstream: Directory and file names that leave the archive are refused, naming package, field and value', async () => {
    const orig = gzipSync(release('debpkg-1.0'));
    mkdirSync(path.join(archive, 'pool/main/d/debpkg'), { recursive: true });
    writeFileSync(path.join(archive, 'pool/main/d/debpkg/debpkg_1.0.orig.tar.gz'), orig);
    // what a hostile index would point at: a real file outside the archive root
    mkdirSync(path.join(p.tmp, 'outside'), { recursive: true });
    writeFileSync(path.join(p.tmp, 'outside/debpkg_1.0.orig.tar.gz'), orig);
    sources(archive, [stanza({ pkg: 'debpkg', version: '1.0-1', directory: 'pool/main/d/debpkg', files: [{ name: 'debpkg_1.0.orig.tar.gz', bytes: orig }] })]);
    p.pkg('debpkg', 'debian = "debpkg"');
    const first = (await p.mirror(["debpkg"], env)).get("debpkg")!;
    expect(first.ok ? "ok" : first.error.message).toBe("ok");
    const before = snapshot(mirrorPath(p.mirrors, 'debpkg'));

    const hostile: Array<{ directory: string; name: string; field: string; value: string }> = [
      { directory: '../outside', name: 'debpkg_1.0.orig.tar.gz', field: 'Directory', value: '../outside' },
      { directory: '/etc', name: 'debpkg_1.0.orig.tar.gz', field: 'Directory', value: '/etc' },
      { directory: 'pool/../../outside', name: 'debpkg_1.0.orig.tar.gz', field: 'Directory', value: 'pool/../../outside' },
      { directory: 'pool/main/d/debpkg', name: '../../../../../outside/debpkg_1.0.orig.tar.gz', field: 'Checksums-Sha256', value: '../../../../../outside/debpkg_1.0.orig.tar.gz' },
      { directory: 'pool/main/d/debpkg', name: 'sub/debpkg_1.0.orig.tar.gz', field: 'Checksums-Sha256', value: 'sub/debpkg_1.0.orig.tar.gz' },
      // a URL decodes %2e%2e to `..`: weld joins these fields into URLs
      { directory: 'pool/main/%2e%2e/%2e%2e/%2e%2e/outside', name: 'debpkg_1.0.orig.tar.gz', field: 'Directory', value: 'pool/main/%2e%2e/%2e%2e/%2e%2e/outside' },
      { directory: 'pool/main/d/debpkg', name: '%2e%2e%2fdebpkg_1.0.orig.tar.gz', field: 'Checksums-Sha256', value: '%2e%2e%2fdebpkg_1.0.orig.tar.gz' },
      { directory: 'pool/main/d/debpkg', name: 'debpkg_1.0.orig.tar.gz?x', field: 'Checksums-Sha256', value: 'debpkg_1.0.orig.tar.gz?x' },
    ];
    for (const h of hostile) {
      sources(archive, [stanza({ pkg: 'debpkg', version: '1.1-1', directory: h.directory, files: [{ name: h.name.replace('1.0', '1.1'), bytes: orig }] })]);
      p.pkg('debpkg', 'debian = "debpkg"', { version: '1.1' });
      const e = await failure('debpkg');
      expect(e.code).toBe('E_DEBIAN_SOURCE');
      expect(e.message).toContain(`debpkg 1.1-1: ${h.field}`);
      expect(e.message).toContain(`"${h.value.replace('1.0', '1.1')}"`);
      expect(e.hint).toMatch(/archive/);
      expect(snapshot(mirrorPath(p.mirrors, 'debpkg'))).toEqual(before);
    }
  });

  it('debian upstream: a first mirror refused leaves no directory', async () => {
    const orig = gzipSync(release('debnew-1.0'));
    sources(archive, [stanza({ pkg: 'debnew', version: '1.0-1', directory: '../outside', files: [{ name: 'debnew_1.0.orig.tar.gz', bytes: orig }] })]);
    writeFileSync(path.join(p.tmp, 'outside/debnew_1.0.orig.tar.gz'), orig);
    p.pkg('debnew', 'debian = "debnew"');
    expect((await failure('debnew')).code).toBe('E_DEBIAN_SOURCE');
    expect(existsSync(mirrorPath(p.mirrors, 'debnew'))).toBe(false);
  });

  it('a ref name git refuses is an E_REF_NAME with a hint about the version, and nothing is written', async () => {
    const before = snapshot(mirrorPath(p.mirrors, 'tarpkg'));
    const stage = await openStage({ mirrorsDir: p.mirrors, pkg: 'tarpkg' });
    if (!stage.ok) throw stage.error;
    try {
      const head = stage.value.before.get('refs/heads/distro')!;
      const r = await publishStage({ stage: stage.value, updates: [{ ref: 'refs/heads/distro', oid: head }, { ref: 'refs/tags/upstream/1.0..2', oid: head }] });
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('E_REF_NAME');
        expect(r.error.message).toBe('cannot name a ref "refs/tags/upstream/1.0..2": it holds ".." (git check-ref-format); nothing was written');
        expect(r.error.hint).toMatch(/version/);
      }
    } finally {
      discardStage(stage.value);
    }
    expect(snapshot(mirrorPath(p.mirrors, 'tarpkg'))).toEqual(before);
    expect(readdirSync(p.mirrors).filter((n) => !n.endsWith('.git'))).toEqual([]);
  });
});
