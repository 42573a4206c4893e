import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeDebianArchive } from '../helpers/debian-archive.js';
import { sampleProject, weld } from '../helpers/project.js';
import { makeSdist, project, simpleIndex, type SimpleIndex } from '../helpers/sdists.js';
import { fileServer, type TestServer } from '../helpers/servers.js';
import { entry, tar, tempDir } from '../helpers/tar.js';

// `weld import` from a fake Debian archive laid out as the mirror tests lay theirs:
// binary python3-<name> → source package, the .orig verified against the index,
// Build-Depends lib*-dev → packs.

/** A native library's .orig: a top directory holding the build file its recipe is chosen by. */
function nativeOrig(top: string, buildFile: string): Buffer {
  return gzipSync(tar(entry({ name: `${top}/`, type: '5' }), entry({ name: `${top}/${buildFile}`, data: '# build\n' }), entry({ name: `${top}/src/lib.c`, data: 'int x;\n' })));
}

let archive: TestServer;
let archiveDir: { dir: string; cleanup: () => void };
let index: SimpleIndex;

beforeAll(async () => {
  archiveDir = tempDir('weld-import-debian-');
  writeDebianArchive(archiveDir.dir, {
    suite: 'bookworm',
    sources: [
      {
        package: 'python-foo',
        version: '1.2.0-1',
        binaries: ['python3-foo'],
        buildDepends: 'debhelper-compat (= 13), dh-python, python3-all-dev, libbaz-dev (>= 2.0) [!hurd-i386], libyaml-dev, libc6-dev | libc-dev, libpython3-dev',
        homepage: 'https://foo.example/',
        files: [
          { name: 'python-foo_1.2.0.orig.tar.gz', content: makeSdist({ name: 'foo', version: '1.2.0', summary: 'Foo for all', license: 'BSD-3-Clause', requires: ['PyZap>=1'] }, { top: 'foo-1.2.0' }) },
          { name: 'python-foo_1.2.0-1.debian.tar.xz', content: Buffer.from('not read') },
        ],
      },
      // PyZap is packaged as python3-zap; its .orig is a git export without PKG-INFO
      { package: 'pyzap', version: '1:1.4+dfsg-2', binaries: ['python3-zap'], files: [{ name: 'pyzap_1.4+dfsg.orig.tar.gz', content: makeSdist({ name: 'PyZap', version: '1.4', noPkgInfo: true, packages: ['zap'] }, { top: 'pyzap-1.4' }) }] },
      { package: 'libbaz', version: '2.1-3', binaries: ['libbaz2', 'libbaz-dev'], buildDepends: 'debhelper-compat (= 13), libqux-dev', homepage: 'https://baz.example/', files: [{ name: 'libbaz_2.1.orig.tar.gz', content: nativeOrig('libbaz-2.1', 'configure.ac') }] },
      { package: 'qux', version: '0.9-1', binaries: ['libqux0', 'libqux-dev'], files: [{ name: 'qux_0.9.orig.tar.xz', content: nativeOrig('qux-0.9', 'CMakeLists.txt') }] },
      { package: 'libyaml', version: '0.2.5-1', binaries: ['libyaml-0-2', 'libyaml-dev'], files: [{ name: 'libyaml_0.2.5.orig.tar.gz', content: nativeOrig('yaml-0.2.5', 'configure') }] },
      // listed in the index, but the archive does not serve its .orig
      { package: 'python-gone', version: '3.0-1', binaries: ['python3-gone'], files: [{ name: 'python-gone_3.0.orig.tar.gz', content: makeSdist({ name: 'gone', version: '3.0' }) }] },
      { package: 'python-weird', version: '1.0~beta1-1', binaries: ['python3-weird'], files: [{ name: 'python-weird_1.0~beta1.orig.tar.gz', content: makeSdist({ name: 'weird', version: '1.0b1' }) }] },
    ],
  });
  rmSync(path.join(archiveDir.dir, 'pool/main/p/python-gone/python-gone_3.0.orig.tar.gz'));
  writeDebianArchive(archiveDir.dir, { suite: 'trixie', sources: [{ package: 'python-newer', version: '2.0-1', binaries: ['python3-newer'], files: [{ name: 'python-newer_2.0.orig.tar.gz', content: makeSdist({ name: 'newer', version: '2.0' }) }] }] });
  archive = await fileServer(archiveDir.dir);
  index = await simpleIndex({ projects: [project({ name: 'gone', version: '2.5' }), project({ name: 'foo', version: '9.0' })] });
});
afterAll(async () => {
  await archive.close();
  await index.close();
  archiveDir.cleanup();
});

let proj: { root: string; cleanup: () => void };
beforeEach(() => (proj = sampleProject()));
afterEach(() => proj.cleanup());

const env = () => ({ WELD_DEBIAN_MIRROR: archive.url });
const pkgFile = (name: string) => readFileSync(path.join(proj.root, 'metadata/packages', `${name}.toml`), 'utf8');
const has = (name: string) => existsSync(path.join(proj.root, 'metadata/packages', `${name}.toml`));

describe('weld import from Debian', () => {
  it('maps python3-<name> to its source, wires native Build-Depends to packs, and passes weld check', async () => {
    writeFileSync(path.join(proj.root, 'requirements.txt'), `foo>=1 --hash=sha256:${'0'.repeat(64)}\n`);
    const r = await weld(['import', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    // Debian comes first in the source order: its 1.2.0, though the index has 9.0
    expect(pkgFile('foo')).toBe(
      [
        '# Imported by weld import from debian:bookworm/python-foo 1.2.0-1 (python-foo_1.2.0.orig.tar.gz).',
        '[package]',
        'name = "foo"',
        'version = "1.2.0"',
        'release = 1',
        'summary = "Foo for all"',
        'license = "BSD-3-Clause"',
        'homepage = "https://foo.example/"',
        '',
        '[upstream]',
        'debian = "python-foo"',
        '',
        '[build]',
        'recipe = "python-wheel"',
        // libyaml is the distro's own pack; libbaz a new one; libc6-dev is in the builder env
        'requires = ["libbaz", "libyaml"]',
        '',
        '[runtime]',
        'requires = ["pyzap"]',
        '',
        '[test]',
        'imports = ["foo"]',
        '',
      ].join('\n'),
    );
    expect(pkgFile('pyzap')).toMatch(/^name = "PyZap"\nversion = "1.4"$/m);
    expect(pkgFile('pyzap')).toMatch(/^debian = "pyzap"$/m);
    expect(pkgFile('pyzap')).toMatch(/^imports = \["zap"\]$/m);
    expect(pkgFile('pyzap')).toContain("# Note: Debian's .orig is a repack (+dfsg): files of upstream's release may be missing from it; check the wheel, or take the sdist from an index.");
    expect(pkgFile('libbaz')).toBe(
      [
        '# Imported by weld import from debian:bookworm/libbaz 2.1-3 (libbaz_2.1.orig.tar.gz), a native build dependency.',
        '[package]',
        'name = "libbaz"',
        'version = "2.1"',
        'release = 1',
        'kind = "pack"',
        'homepage = "https://baz.example/"',
        '',
        '[upstream]',
        'debian = "libbaz"',
        '',
        '[build]',
        'recipe = "autotools-pack"',
        'requires = ["qux"]',
        '',
      ].join('\n'),
    );
    // the library's own dependency, with the recipe its tree calls for; the env lacks cmake
    expect(pkgFile('qux')).toMatch(/^recipe = "cmake-pack"$/m);
    expect(pkgFile('qux')).toContain('# Note: builder env bookworm-s390x lacks cmake, which recipe cmake-pack needs: add it to metadata/envs/bookworm-s390x.toml.');
    expect(r.stdout).toMatch(/^4 packages imported, 0 updated, 0 unchanged, 0 already present, 0 unresolved$/m);
    expect(r.stderr).toContain("weld import: warning: requirements.txt:1: --hash is not checked for foo: it comes from Debian's python-foo_1.2.0.orig.tar.gz, verified against the Sources index instead");
    const check = await weld(['check'], { cwd: proj.root });
    expect(check.stdout).toMatch(/^ok: weld-sample: 10 packages \(7 wheels, 3 packs\)/);
    // weld mirror takes what was written: the same .origs, found the same way
    const m = await weld(['mirror', 'foo', 'pyzap', 'libbaz', 'qux'], { cwd: proj.root, env: env() });
    expect(m.stderr).not.toMatch(/failed/);
    expect(m.stdout).toMatch(/^4 packages mirrored, 0 up to date, 0 failed/m);
    const graph = await weld(['graph', 'foo'], { cwd: proj.root });
    expect(graph.stdout).toMatch(/1\s+libyaml[\s\S]*1\s+qux[\s\S]*2\s+libbaz[\s\S]*3\s+foo/);
  });

  it('takes the next source when the archive does not serve an .orig, and says why one is unusable', async () => {
    writeFileSync(path.join(proj.root, 'requirements.txt'), 'gone\nweird\n');
    const r = await weld(['import', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(r.code).toBe(1);
    expect(pkgFile('gone')).toMatch(/^version = "2.5"$/m);
    expect(pkgFile('gone')).toMatch(/^tarball = /m);
    expect(r.stdout).toContain('weird: unresolved: no source has a version that fits: any version (requirements.txt:2); debian bookworm has no version of it (skipped: bookworm python-weird 1.0~beta1-1: upstream version "1.0~beta1" is not a PEP 440 version)');
    rmSync(path.join(proj.root, 'metadata/packages/gone.toml'));
    const pinned = await weld(['import', '--sources', 'debian', 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(pinned.stdout).toMatch(/gone: unresolved: .*debian bookworm has 3\.0 \(unusable: 3\.0: cannot fetch .*python-gone_3\.0\.orig\.tar\.gz: HTTP 404/);
  });

  it('weld import debian <source>: by source package name, from an extra suite with --suite', async () => {
    const r = await weld(['import', 'debian', 'pyzap', 'python-newer', '--suite', 'trixie'], { cwd: proj.root, env: env() });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(pkgFile('pyzap')).toMatch(/^version = "1.4"$/m);
    expect(pkgFile('newer')).toMatch(/^debian = "python-newer"\nsuite = "trixie"$/m);
    const none = await weld(['import', 'debian', 'no-such-source'], { cwd: proj.root, env: env() });
    expect(none.code).toBe(1);
    expect(none.stdout).toContain('no-such-source: unresolved: no source package "no-such-source" in bookworm');
    const lib = await weld(['import', 'debian', 'libbaz'], { cwd: proj.root, env: env() });
    expect(lib.stdout).toContain('libbaz: unresolved: it builds no python3-* package (libbaz-dev, libbaz2)');
    expect((await weld(['check'], { cwd: proj.root })).code).toBe(0);
  });
});
