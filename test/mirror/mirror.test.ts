import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventStream } from '../helpers/event-lines.js';
import { writeDebianArchive } from '../helpers/debian-archive.js';
import { git } from '../helpers/git.js';
import { REPO_ROOT, weld } from '../helpers/project.js';
import { deadUrl, fileServer, gitHttpServer, type TestServer } from '../helpers/servers.js';

// `weld mirror` end to end, with each upstream kind served on loopback: a git
// repository over smart HTTP, a release tarball, and a Debian archive.

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function releaseTarball(dir: string, name: string, files: Record<string, string>): Buffer {
  const src = mkdtempSync(path.join(os.tmpdir(), 'weld-rel-'));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(src, name, f)), { recursive: true });
    writeFileSync(path.join(src, name, f), text);
  }
  const out = path.join(dir, `${name}.tar.gz`);
  tar.c({ gzip: true, file: out, cwd: src, sync: true, portable: true, mtime: new Date('2023-03-01T12:00:00Z') }, [name]);
  rmSync(src, { recursive: true, force: true });
  return readFileSync(out);
}

const PATCH = `From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001
From: Distro Maintainer <maint@example.org>
Date: Wed, 1 Mar 2023 10:00:00 +0100
Subject: [PATCH] greet the distro

---
 hello.py | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/hello.py b/hello.py
--- a/hello.py
+++ b/hello.py
@@ -1 +1 @@
-print("hello")
+print("hello from the distro")
`;

describe('weld mirror', () => {
  let tmp: string;
  let root: string;
  let servers: TestServer[] = [];
  let gitSrv: TestServer;
  let files: TestServer;
  let env: NodeJS.ProcessEnv;
  let upstreamCommit: string;

  const pkgFile = (name: string, upstream: string, extra = '') =>
    writeFileSync(path.join(root, 'metadata/packages', `${name}.toml`), `[package]\nname = "${name}"\nversion = "1.0"\n\n[upstream]\n${upstream}\n\n[build]\nrecipe = "python-wheel"\n${extra}`);
  const run = (...argv: string[]) => weld(['mirror', ...argv], { cwd: root, env });
  const mirrorGit = (pkg: string, ...args: string[]) => git(tmp, '--git-dir', path.join(root, 'mirrors', `${pkg}.git`), ...args);

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'weld-mirror-'));
    root = path.join(tmp, 'project');
    mkdirSync(path.join(root, 'metadata/packages'), { recursive: true });
    cpSync(path.join(REPO_ROOT, 'recipes'), path.join(root, 'recipes'), { recursive: true });
    cpSync(path.join(REPO_ROOT, 'metadata/envs'), path.join(root, 'metadata/envs'), { recursive: true });
    writeFileSync(path.join(root, 'metadata/weld.toml'), '[distro]\nname = "t"\narch = "s390x"\nenv = "bookworm-s390x"\n');

    // git upstream
    const work = path.join(tmp, 'gitwork');
    mkdirSync(work);
    git(work, 'init', '-q', '-b', 'main');
    writeFileSync(path.join(work, 'hello.py'), 'print("hello")\n');
    git(work, 'add', '-A');
    git(work, 'commit', '-q', '-m', 'hello');
    git(work, 'tag', 'v1.0');
    upstreamCommit = git(work, 'rev-parse', 'HEAD');
    git(tmp, 'init', '-q', '--bare', '-b', 'main', path.join(tmp, 'gitsrv', 'hello.git'));
    git(work, 'push', '-q', '--tags', path.join(tmp, 'gitsrv', 'hello.git'), 'main');
    gitSrv = await gitHttpServer(path.join(tmp, 'gitsrv'));

    // tarball and Debian upstreams from one file server
    const www = path.join(tmp, 'www');
    mkdirSync(www);
    const tarball = releaseTarball(www, 'tarpkg-1.0', { 'setup.py': 'from setuptools import setup\nsetup()\n', 'tarpkg/__init__.py': '' });
    const orig = releaseTarball(tmp, 'debpkg-1.0', { 'README': 'debpkg\n', 'hello.py': 'print("hello")\n' });
    // Debian packaging with a quilt series, for debian_patches = true
    const packaging = path.join(tmp, 'packaging');
    mkdirSync(path.join(packaging, 'debian/patches'), { recursive: true });
    writeFileSync(path.join(packaging, 'debian/patches/series'), '# applied in this order\nfix-readme.patch -p1\n');
    writeFileSync(
      path.join(packaging, 'debian/patches/fix-readme.patch'),
      'Description: say where it comes from\nAuthor: Debian Maintainer <dm@debian.example>\nLast-Update: 2023-02-01\n\n--- a/README\n+++ b/README\n@@ -1 +1,2 @@\n debpkg\n+packaged for Debian\n',
    );
    tar.c({ file: path.join(tmp, 'debian.tar'), cwd: packaging, sync: true, portable: true }, ['debian']);
    const debianTar = execFileSync('xz', ['-c', path.join(tmp, 'debian.tar')]);
    writeDebianArchive(path.join(www, 'debian'), {
      suite: 'bookworm',
      sources: [
        { package: 'python-debpkg', version: '1.0-2', files: [{ name: 'python-debpkg_1.0.orig.tar.gz', content: orig }] },
        {
          package: 'quiltpkg',
          version: '1.0-1',
          files: [
            { name: 'quiltpkg_1.0.orig.tar.gz', content: orig },
            { name: 'quiltpkg_1.0-1.debian.tar.xz', content: debianTar },
          ],
        },
      ],
    });
    files = await fileServer(www);
    servers = [gitSrv, files];
    env = { WELD_DEBIAN_MIRROR: `${files.url}/debian`, WELD_STORE: path.join(tmp, 'store') };

    pkgFile('gitpkg', `git = "${gitSrv.url}/hello.git"\ntag = "v1.0"`);
    pkgFile('tarpkg', `tarball = "${files.url}/tarpkg-1.0.tar.gz"\nsha256 = "${sha256(tarball)}"`);
    pkgFile('debpkg', 'debian = "python-debpkg"');
    pkgFile('quiltpkg', 'debian = "quiltpkg"\ndebian_patches = true');
    mkdirSync(path.join(root, 'metadata/patches/gitpkg'), { recursive: true });
    mkdirSync(path.join(root, 'metadata/patches/debpkg'), { recursive: true });
    writeFileSync(path.join(root, 'metadata/patches/gitpkg/0001-greet.patch'), PATCH);
    writeFileSync(path.join(root, 'metadata/patches/debpkg/0001-greet.patch'), PATCH);
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('mirrors every kind, writes the lock, and leaves ordinary git repositories', async () => {
    const r = await run('--all');
    expect(r.stderr).not.toContain('failed');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^4 packages mirrored, 0 up to date, 0 failed; lock updated: /m);
    const lock = readFileSync(path.join(root, 'metadata/weld.lock'), 'utf8');
    expect(lock.match(/^\[(\w+)\]$/gm)).toEqual(['[debpkg]', '[gitpkg]', '[quiltpkg]', '[tarpkg]']);
    // Debian's own patch, with its DEP-3 author, on top of the .orig
    expect(mirrorGit('quiltpkg', 'log', '--format=%an|%s', 'distro')).toBe('Debian Maintainer|say where it comes from\nweld import|Import quiltpkg 1.0');
    expect(mirrorGit('quiltpkg', 'show', 'distro:README')).toBe('debpkg\npackaged for Debian');
    expect(mirrorGit('gitpkg', 'rev-parse', 'upstream/1.0^{commit}')).toBe(upstreamCommit);
    expect(mirrorGit('gitpkg', 'log', '--format=%an <%ae>|%s', '-1', 'distro')).toBe('Distro Maintainer <maint@example.org>|greet the distro');
    expect(mirrorGit('tarpkg', 'rev-parse', 'distro')).toBe(mirrorGit('tarpkg', 'rev-parse', 'upstream/1.0^{commit}')); // no patches
    expect(mirrorGit('debpkg', 'log', '--format=%s', 'upstream')).toBe('Import debpkg 1.0');
    for (const p of ['gitpkg', 'tarpkg', 'debpkg', 'quiltpkg']) mirrorGit(p, 'fsck', '--strict', '--no-dangling');
    const clone = path.join(tmp, 'clone');
    git(tmp, 'clone', '-q', path.join(root, 'mirrors/debpkg.git'), clone);
    expect(readFileSync(path.join(clone, 'hello.py'), 'utf8')).toBe('print("hello from the distro")\n');
    // the mirror host is never recorded
    expect(mirrorGit('debpkg', 'log', '-1', '--format=%B', 'upstream')).not.toContain('127.0.0.1');
  });

  it('is a no-op the second time: no request, no new commit, lock unchanged', async () => {
    const before = [gitSrv.requests.length, files.requests.length];
    const lock = readFileSync(path.join(root, 'metadata/weld.lock'), 'utf8');
    const r = await run('--all');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^0 packages mirrored, 4 up to date, 0 failed; lock unchanged/m);
    expect([gitSrv.requests.length, files.requests.length]).toEqual(before);
    expect(readFileSync(path.join(root, 'metadata/weld.lock'), 'utf8')).toBe(lock);
    expect((await run('--check', '--all')).code).toBe(0);
  });

  it('gives the same commits in a fresh mirror and store (deterministic)', async () => {
    const lock = readFileSync(path.join(root, 'metadata/weld.lock'), 'utf8');
    const r = await weld(['mirror', '--all', '--mirrors', path.join(tmp, 'mirrors2'), '--store', path.join(tmp, 'store2')], { cwd: root, env });
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(root, 'metadata/weld.lock'), 'utf8')).toBe(lock);
  });

  it('reports a changed patch as stale, then rebuilds only the distro branch', async () => {
    const upstreamBefore = mirrorGit('gitpkg', 'rev-parse', 'upstream/1.0');
    writeFileSync(path.join(root, 'metadata/patches/gitpkg/0001-greet.patch'), PATCH.replace('from the distro', 'from the respin'));
    const check = await run('--check', '--all');
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/^gitpkg +stale +upstream, version, release or patches changed/m);
    expect(check.stdout).toMatch(/^tarpkg +ok/m);
    const before = gitSrv.requests.length;
    expect((await run('gitpkg')).code).toBe(0);
    expect(gitSrv.requests.length).toBe(before);
    expect(mirrorGit('gitpkg', 'rev-parse', 'upstream/1.0')).toBe(upstreamBefore);
    expect(mirrorGit('gitpkg', 'show', 'distro:hello.py')).toBe('print("hello from the respin")');
  });

  it('names the patch, file and hunk of a patch that does not apply, and keeps going for the others', async () => {
    writeFileSync(path.join(root, 'metadata/patches/gitpkg/0001-greet.patch'), PATCH.replace('-print("hello")', '-print("goodbye")'));
    writeFileSync(path.join(root, 'metadata/packages/tarpkg.toml'), readFileSync(path.join(root, 'metadata/packages/tarpkg.toml'), 'utf8').replace('version = "1.0"', 'version = "1.0"\nrelease = 2'));
    const r = await run('--all');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^gitpkg: failed: .*0001-greet\.patch.*hello\.py.*hunk 1/m);
    expect(r.stdout).toMatch(/^tarpkg: mirrored/m);
    expect(mirrorGit('tarpkg', 'rev-parse', '--verify', '-q', 'distro/1.0-2')).toMatch(/^[0-9a-f]{40}$/);
    writeFileSync(path.join(root, 'metadata/patches/gitpkg/0001-greet.patch'), PATCH);
  });

  it('refuses a tarball whose sha256 is wrong, naming both digests, and writes nothing', async () => {
    pkgFile('badsum', `tarball = "${files.url}/tarpkg-1.0.tar.gz"\nsha256 = "${'0'.repeat(64)}"`);
    const r = await run('badsum');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`badsum: failed: ${files.url}/tarpkg-1.0.tar.gz: sha256 mismatch: expected sha256:${'0'.repeat(64)}, got sha256:`);
    expect(() => mirrorGit('badsum', 'rev-parse', '--verify', '-q', 'upstream')).toThrow();
    rmSync(path.join(root, 'metadata/packages/badsum.toml'));
  });

  it('reports an upstream that is down with its URL and cause', async () => {
    const url = `${await deadUrl()}/gone.tar.gz`;
    pkgFile('gone', `tarball = "${url}"\nsha256 = "${'1'.repeat(64)}"`);
    const r = await run('gone', '--json');
    expect(r.code).toBe(1);
    const out = eventStream(r.stdout) as { error: { code: string; failures: unknown[] } };
    expect(out.error.code).toBe('E_MIRROR_FAILED');
    expect(out.error.failures[0]).toMatchObject({ package: 'gone', code: 'E_UPSTREAM_UNREACHABLE', url, cause: 'connection refused (is the server up?)' });
    rmSync(path.join(root, 'metadata/packages/gone.toml'));
  });
  it('--json: every line is an event of the core shape about its package, the summary last', async () => {
    pkgFile('jsondeb', 'debian = "python-debpkg"');
    const r = await run('jsondeb', '--json');
    expect(r.code, r.stdout).toBe(0);
    expect(r.stderr).toBe('');
    const first = eventStream(r.stdout);
    expect(first.events.every((e) => e.subject?.kind === 'package' && e.subject.name === 'jsondeb')).toBe(true);
    expect(first.events[0]!.type).toBe('mirroring');
    const phases = first.events.filter((e) => e.type === 'phase').map((e) => (e.data as { phase: string }).phase);
    expect([...new Set(phases)]).toEqual(['resolve', 'download', 'import']);
    expect(first.summary?.data).toMatchObject({ packages: [{ package: 'jsondeb', status: 'mirrored' }], lock: { changed: true } });
    // the no-op: nothing happens, so only the summary
    const again = eventStream((await run('jsondeb', '--json')).stdout);
    expect(again.events).toEqual([]);
    expect(again.summary?.data).toMatchObject({ packages: [{ package: 'jsondeb', status: 'up-to-date' }], lock: { changed: false } });
    rmSync(path.join(root, 'metadata/packages/jsondeb.toml'));
  });
});
