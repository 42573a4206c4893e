import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventStream } from '../helpers/event-lines.js';
import { git } from '../helpers/git.js';
import { REPO_ROOT, weld } from '../helpers/project.js';
import { fileServer, type TestServer } from '../helpers/servers.js';

// weld.toml's [mirror] limits reach the tarball import: `weld mirror` of a release
// tarball served on loopback, refused under a low limit, imported under a high one.

describe('weld mirror: [mirror] limits in weld.toml', () => {
  let tmp: string;
  let root: string;
  let files: TestServer;
  let env: NodeJS.ProcessEnv;
  const weldToml = (mirror: string) => writeFileSync(path.join(root, 'metadata/weld.toml'), `[distro]\nname = "t"\narch = "s390x"\nenv = "bookworm-s390x"\n\n${mirror}`);

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'weld-mirror-limits-'));
    root = path.join(tmp, 'project');
    mkdirSync(path.join(root, 'metadata/packages'), { recursive: true });
    cpSync(path.join(REPO_ROOT, 'recipes'), path.join(root, 'recipes'), { recursive: true });
    cpSync(path.join(REPO_ROOT, 'metadata/envs'), path.join(root, 'metadata/envs'), { recursive: true });
    const src = path.join(tmp, 'src', 'lim-1.0');
    mkdirSync(path.join(src, 'lim'), { recursive: true });
    writeFileSync(path.join(src, 'setup.py'), 'from setuptools import setup\nsetup()\n');
    writeFileSync(path.join(src, 'lim', '__init__.py'), 'x = 1\n'.repeat(1000));
    const www = path.join(tmp, 'www');
    mkdirSync(www);
    tar.c({ gzip: true, file: path.join(www, 'lim-1.0.tar.gz'), cwd: path.join(tmp, 'src'), sync: true, portable: true }, ['lim-1.0']);
    const sha = createHash('sha256').update(readFileSync(path.join(www, 'lim-1.0.tar.gz'))).digest('hex');
    files = await fileServer(www);
    env = { WELD_STORE: path.join(tmp, 'store') };
    writeFileSync(
      path.join(root, 'metadata/packages/lim.toml'),
      `[package]\nname = "lim"\nversion = "1.0"\n\n[upstream]\ntarball = "${files.url}/lim-1.0.tar.gz"\nsha256 = "${sha}"\n\n[build]\nrecipe = "python-wheel"\n`,
    );
  });
  afterAll(async () => {
    await files.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  // a first mirror that is refused leaves no repository at all (it is staged beside)
  const mirrorDirs = () => readdirSync(path.join(root, 'mirrors')).filter((d) => d.startsWith('lim') || d.startsWith('.weld-stage'));

  it('max_unpacked_size = "4KiB": refused, naming the limit, the entry and the key to raise; nothing imported', async () => {
    weldToml('[mirror]\nmax_unpacked_size = "4KiB"\n');
    const r = await weld(['mirror', 'lim', '--json'], { cwd: root, env });
    expect(r.code).toBe(1);
    const failure = (eventStream(r.stdout).error as { failures: Array<Record<string, unknown>> }).failures[0];
    expect(failure).toMatchObject({ package: 'lim', code: 'E_TARBALL_LIMIT', limit: 'max_unpacked_size', value: 4096, entry: 'lim-1.0/lim/__init__.py' });
    expect(failure.hint).toContain('[mirror] max_unpacked_size = "8KiB"');
    expect(mirrorDirs()).toEqual([]);
  });

  it('max_entries = 2: refused at the third entry', async () => {
    weldToml('[mirror]\nmax_entries = 2\n');
    const r = await weld(['mirror', 'lim', '--json'], { cwd: root, env });
    expect(r.code).toBe(1);
    expect((eventStream(r.stdout).error as { failures: unknown[] }).failures[0]).toMatchObject({ code: 'E_TARBALL_LIMIT', limit: 'max_entries', value: 2 });
    expect(mirrorDirs()).toEqual([]);
  });

  it('limits high enough: imported', async () => {
    weldToml('[mirror]\nmax_unpacked_size = 1000000\nmax_entries = 10\n');
    const r = await weld(['mirror', 'lim'], { cwd: root, env });
    expect(r.stderr).not.toContain('failed');
    expect(r.code).toBe(0);
    expect(git(tmp, '--git-dir', path.join(root, 'mirrors/lim.git'), 'show', 'upstream:setup.py')).toBe('from setuptools import setup\nsetup()');
  });
});
