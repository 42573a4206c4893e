import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summaryData } from '../helpers/event-lines.js';
import { Podman } from '../../src/podman/podman.js';
import { REPO_ROOT, sampleProject, weld } from '../helpers/project.js';

// lock → fetch → compose the sample builder, then run it in podman as s390x with the
// network off. The lock is regenerated in a copy of the project and must equal the
// committed one only in shape (the mirror may have moved on); the image is built from
// the regenerated lock.

describe('bookworm-s390x end to end', () => {
  let root: string;
  let cleanup: () => void;
  let store: string;
  let env: NodeJS.ProcessEnv;
  let tag = '';
  beforeAll(() => {
    ({ root, cleanup } = sampleProject());
    store = mkdtempSync(path.join(os.tmpdir(), 'weld-e2e-store-'));
    env = { ...process.env, WELD_STORE: store };
  });
  afterAll(() => {
    if (tag) spawnSync('podman', ['rmi', '-f', tag], { stdio: 'ignore' });
    cleanup();
    rmSync(store, { recursive: true, force: true });
  });

  it('locks, fetches and composes, loading the image into podman', async () => {
    const lock = await weld(['env', 'lock', 'bookworm-s390x'], { cwd: root, env });
    expect(lock.stderr).not.toMatch(/error/);
    expect(lock.code).toBe(0);
    const fetch = await weld(['env', 'fetch', 'bookworm-s390x'], { cwd: root, env });
    expect(fetch.code, fetch.stderr).toBe(0);
    const again = await weld(['env', 'fetch', 'bookworm-s390x', '--json'], { cwd: root, env });
    expect(summaryData(again.stdout)).toMatchObject({ downloaded: 0 });
    const compose = await weld(['env', 'compose', 'bookworm-s390x', '--json'], { cwd: root, env });
    expect(compose.code, compose.stdout + compose.stderr).toBe(0);
    const out = summaryData<{ tag: string; image: string }>(compose.stdout);
    tag = out.tag;
    expect(tag).toBe(`weld-env/bookworm-s390x:${out.image.slice(7, 19)}`);
    const ls = await weld(['env', 'ls'], { cwd: root, env });
    expect(ls.stdout).toMatch(new RegExp(`^bookworm-s390x +builder +s390x +bookworm +\\d+ debs +${tag.replace(/[/:.]/g, '\\$&')}$`, 'm'));
  });

  const inEnv = async (cmd: string[]) => {
    const p = Podman.open({ root, arch: 's390x', env });
    if (!p.ok) throw p.error;
    return p.value.run({ image: tag, cmd });
  };

  it('runs s390x code: uname, python3 platform, gcc', async () => {
    expect((await inEnv(['uname', '-m'])).stdout.trim()).toBe('s390x');
    expect((await inEnv(['python3', '-c', 'import sysconfig; print(sysconfig.get_platform())'])).stdout.trim()).toBe('linux-s390x');
    const gcc = await inEnv(['gcc', '--version']);
    expect(gcc.code).toBe(0);
    expect(gcc.stdout).toMatch(/^gcc \(Debian 12\./);
  });

  it('has no network', async () => {
    const r = await inEnv(['python3', '-c', 'import socket; socket.create_connection(("1.1.1.1", 80), timeout=5)']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Network is unreachable|timed out|No route/);
  });

  it('composes the same image digest again from the same lock (in a fresh store)', async () => {
    const other = mkdtempSync(path.join(os.tmpdir(), 'weld-e2e-store2-'));
    try {
      const e2 = { ...env, WELD_STORE: other };
      expect((await weld(['env', 'fetch', 'bookworm-s390x'], { cwd: root, env: e2 })).code).toBe(0);
      const c = await weld(['env', 'compose', 'bookworm-s390x', '--no-load', '--json'], { cwd: root, env: e2 });
      expect(summaryData<{ tag: string }>(c.stdout).tag).toBe(tag);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('keeps the committed lock in step with the env file', () => {
    const r = spawnSync('node', [path.join(REPO_ROOT, 'bin/weld'), 'env', 'ls', '--json'], { cwd: REPO_ROOT, encoding: 'utf8' });
    const rows = JSON.parse(r.stdout) as Array<{ env: string; lock: string }>;
    expect(rows.map((x) => [x.env, x.lock])).toEqual([['bookworm-s390x', 'locked'], ['bookworm-s390x-runtime', 'locked']]);
  });
});
