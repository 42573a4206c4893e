import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { download } from '../../src/mirror/download.js';
import { openStore } from '../../src/store/store.js';
import { git } from '../helpers/git.js';
import { REPO_ROOT, weld } from '../helpers/project.js';

// Local upstreams (paths and file:// URLs) are read only from inside the project or
// from directories the configuration allows, symlinks resolved; and versions that
// are not valid git ref names as written are mapped (DEP-14) so the mirror can tag them.

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function tarball(out: string, top: string): Buffer {
  const src = mkdtempSync(path.join(os.tmpdir(), 'weld-rel-'));
  mkdirSync(path.join(src, top));
  writeFileSync(path.join(src, top, 'configure'), '#!/bin/sh\n');
  mkdirSync(path.dirname(out), { recursive: true });
  tar.c({ gzip: true, file: out, cwd: src, sync: true, portable: true, mtime: new Date('2023-03-01T12:00:00Z') }, [top]);
  rmSync(src, { recursive: true, force: true });
  return readFileSync(out);
}

describe('local upstreams and version tags', () => {
  let tmp: string;
  let root: string;
  let env: NodeJS.ProcessEnv;
  const pack = (version: string, upstream: string) =>
    writeFileSync(path.join(root, 'metadata/packages/lib.toml'), `[package]\nname = "lib"\nversion = "${version}"\nkind = "pack"\n\n[upstream]\n${upstream}\n\n[build]\nrecipe = "autotools-pack"\n`);

  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'weld-local-'));
    root = path.join(tmp, 'project');
    mkdirSync(path.join(root, 'metadata/packages'), { recursive: true });
    cpSync(path.join(REPO_ROOT, 'recipes'), path.join(root, 'recipes'), { recursive: true });
    cpSync(path.join(REPO_ROOT, 'metadata/envs'), path.join(root, 'metadata/envs'), { recursive: true });
    writeFileSync(path.join(root, 'metadata/weld.toml'), '[distro]\nname = "t"\narch = "s390x"\nenv = "bookworm-s390x"\n');
    env = { WELD_STORE: path.join(tmp, 'store') };
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('mirrors versions with "~", ".." and a trailing "." under DEP-14 tag names', async () => {
    const bytes = tarball(path.join(root, 'upstreams/lib.tar.gz'), 'lib-1.0');
    for (const [version, tag] of [['1.0~rc1', '1.0_rc1'], ['1..0', '1.#.0'], ['1.', '1.#'], ['1.0.lock', '1.0.#lock']] as const) {
      pack(version, `tarball = "file://${root}/upstreams/lib.tar.gz"\nsha256 = "${sha256(bytes)}"`);
      const r = await weld(['mirror', 'lib'], { cwd: root, env });
      expect(r.stderr).not.toMatch(/error/);
      expect(r.code).toBe(0);
      const gitDir = path.join(root, 'mirrors/lib.git');
      expect(git(tmp, '--git-dir', gitDir, 'rev-parse', '--verify', '-q', `refs/tags/upstream/${tag}`)).toMatch(/^[0-9a-f]{40}$/);
      expect(git(tmp, '--git-dir', gitDir, 'rev-parse', '--verify', '-q', `refs/tags/distro/${tag}-1`)).toMatch(/^[0-9a-f]{40}$/);
    }
  });

  it('refuses a file:// tarball outside the project, located at the url, unless allowed', async () => {
    const bytes = tarball(path.join(tmp, 'outside/lib.tar.gz'), 'lib-1.0');
    pack('1.0', `tarball = "file://${tmp}/outside/lib.tar.gz"\nsha256 = "${sha256(bytes)}"`);
    const refused = await weld(['check'], { cwd: root, env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `metadata/packages/lib.toml:7:11: error: local upstream "${tmp}/outside/lib.tar.gz" is outside the project and every allowed directory (${root}); ` +
        'move it into the project, or allow its directory with [sources] allow_paths in weld.toml or WELD_ALLOW_PATHS\nweld: error: metadata has 1 error\n',
    );
    const mirrorRefused = await weld(['mirror', 'lib'], { cwd: root, env });
    expect(mirrorRefused.code).toBe(1);
    expect(mirrorRefused.stderr).toContain('is outside the project');

    expect((await weld(['check'], { cwd: root, env: { ...env, WELD_ALLOW_PATHS: `/nonexistent:${tmp}/outside` } })).code).toBe(0);
    writeFileSync(path.join(root, 'metadata/weld.toml'), '[distro]\nname = "t"\narch = "s390x"\nenv = "bookworm-s390x"\n\n[sources]\nallow_paths = ["../outside"]\n');
    expect((await weld(['check'], { cwd: root, env })).stderr).toBe('');
    const mirrored = await weld(['mirror', 'lib'], { cwd: root, env });
    expect(mirrored.stderr).not.toMatch(/error/);
    expect(mirrored.code).toBe(0);
  });

  it('resolves symlinks: a link inside the project to /etc is refused, for git paths too', async () => {
    symlinkSync('/etc', path.join(root, 'etc-link'));
    pack('1.0', `tarball = "file://${root}/etc-link/hostname"\nsha256 = "${'0'.repeat(64)}"`);
    const r = await weld(['check', '--json'], { cwd: root, env });
    expect(r.code).toBe(1);
    const d = (JSON.parse(r.stdout) as { error: { diagnostics: Array<{ line: number; col: number; message: string }> } }).error.diagnostics;
    expect(d.map((x) => `${x.line}:${x.col} ${x.message}`)).toEqual([expect.stringMatching(/^7:11 local upstream ".*\/etc-link\/hostname" \(really "\/etc\/hostname"\) is outside the project/)]);

    pack('1.0', 'git = "./etc-link"\ntag = "v1"');
    const g = await weld(['check'], { cwd: root, env });
    expect(g.stderr).toMatch(/^metadata\/packages\/lib\.toml:7:7: error: local upstream ".*\/etc-link" \(really "\/etc"\) is outside the project/);
  });

  it('fences a file:// URL with a host, which git ignores and reads the path of', async () => {
    pack('1.0', `git = "file://evilhost${tmp}/outside-repo"\ntag = "v1"`);
    const r = await weld(['check'], { cwd: root, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^metadata/packages/lib\\.toml:7:7: error: local upstream "${tmp}/outside-repo" is outside the project`));
  });

  it('download refuses a file that became a symlink to outside after weld check', async () => {
    const bytes = tarball(path.join(root, 'upstreams/lib.tar.gz'), 'lib-1.0');
    const store = await openStore({ path: path.join(tmp, 'store') });
    if (!store.ok) throw store.error;
    unlinkSync(path.join(root, 'upstreams/lib.tar.gz'));
    writeFileSync(path.join(tmp, 'secret'), bytes);
    symlinkSync(path.join(tmp, 'secret'), path.join(root, 'upstreams/lib.tar.gz'));
    const r = await download({ url: `file://${root}/upstreams/lib.tar.gz`, expected: `sha256:${sha256(bytes)}`, store: store.value, localRoots: [root] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('E_LOCAL_SOURCE_REFUSED');
    expect(await store.value.has(`sha256:${sha256(bytes)}`)).toBe(false);
    await store.value.close?.();
  });
});
