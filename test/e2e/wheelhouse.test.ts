import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summaryData } from '../helpers/event-lines.js';
import { Podman } from '../../src/podman/podman.js';
import { REPO_ROOT, sampleProject, weld } from '../helpers/project.js';
import { sharedEnv } from './shared.js';

// pip as the real client: markupsafe and jinja2 built for s390x under podman, composed
// into a wheelhouse, installed by the runtime image's own pip — from the directory
// (file://, no network) and over HTTP from `weld serve`.

describe('wheelhouse + pip in the s390x runtime image', () => {
  let root: string;
  let cleanup: () => void;
  let scratch: string;
  let env: NodeJS.ProcessEnv;
  let runtimeTag = '';
  let podman: Podman;
  const wheelhouse = () => path.join(scratch, 'wh');

  beforeAll(async () => {
    ({ root, cleanup } = sampleProject());
    scratch = mkdtempSync(path.join(os.tmpdir(), 'weld-e2e-wheelhouse-'));
    env = sharedEnv();
    for (const envName of ['bookworm-s390x', 'bookworm-s390x-runtime']) {
      for (const step of ['fetch', 'compose']) {
        const r = await weld(['env', step, envName, '--json'], { cwd: root, env });
        expect(r.code, r.stderr).toBe(0);
        if (step === 'compose' && envName.endsWith('-runtime')) runtimeTag = summaryData<{ tag: string }>(r.stdout).tag;
      }
    }
    const mirrored = await weld(['mirror', 'markupsafe', 'jinja2'], { cwd: root, env });
    expect(mirrored.code, mirrored.stderr).toBe(0);
    writeFileSync(path.join(root, 'metadata/composes/web.toml'), '[compose]\nkind = "wheelhouse"\npackages = ["jinja2"]\n');
    const p = Podman.open({ root, arch: 's390x', env });
    if (!p.ok) throw p.error;
    podman = p.value;
  });
  afterAll(() => {
    cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** pip install in a fresh runtime container; `net` is podman's --network value. */
  const pipInstall = (o: { indexUrl: string; net: string; mounts?: string[] }) => {
    const script = `python3 -m pip install --no-cache-dir --disable-pip-version-check --break-system-packages --index-url ${o.indexUrl} jinja2 && python3 -c 'import jinja2, markupsafe, markupsafe._speedups; print("jinja2", jinja2.__version__, "markupsafe", markupsafe.__version__)'`;
    const args = ['run', '--rm', '--arch', 's390x', `--network=${o.net}`, ...(o.mounts ?? []).flatMap((m) => ['-v', m]), runtimeTag, 'sh', '-c', script];
    // Asynchronous, so this process keeps reading `weld serve`'s output meanwhile.
    return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(podman.bin, args, { env: podman.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  };

  it('composes the builds of markupsafe and jinja2 (built first with --build)', async () => {
    const r = await weld(['compose', 'wheelhouse', 'web', '--build', '--runner', 'podman', '--out', wheelhouse()], { cwd: root, env });
    expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^web: 2 wheels of 2 projects/m);
  });

  it('pip installs jinja2 and markupsafe from file:///wheelhouse/simple with no network, and they import', async () => {
    const r = await pipInstall({ indexUrl: 'file:///wheelhouse/simple', net: 'none', mounts: [`${wheelhouse()}:/wheelhouse:ro`] });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Successfully installed Jinja2-3\.1\.2 MarkupSafe-2\.1\.2|Successfully installed MarkupSafe-2\.1\.2 Jinja2-3\.1\.2/i);
    expect(r.stdout).toContain('jinja2 3.1.2 markupsafe 2.1.2');
  });

  it('pip installs the same over HTTP from `weld serve`', async () => {
    const server = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/weld'), 'serve', '--wheelhouse', wheelhouse(), '--port', '0'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    server.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const url = await new Promise<string>((resolve, reject) => {
      server.stdout.setEncoding('utf8').on('data', (s: string) => {
        stdout += s;
        const m = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout);
        if (m) resolve(m[1]!);
      });
      server.on('close', (code) => reject(new Error(`weld serve exited ${code}: ${stdout}${stderr}`)));
    });
    const exited = new Promise<number | null>((resolve) => server.on('close', (code) => resolve(code)));
    try {
      // The container shares the host's network namespace, so the server's loopback is its own.
      const r = await pipInstall({ indexUrl: `${url}simple`, net: 'host' });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('jinja2 3.1.2 markupsafe 2.1.2');
      expect(stderr).toMatch(/^GET \/simple\/jinja2\/ 200$/m);
      expect(stderr).toMatch(/^GET \/simple\/markupsafe\/ 200$/m);
      expect(stderr).toMatch(/^GET \/wheels\/MarkupSafe-2\.1\.2-cp311-cp311-\S*s390x\.whl 200$/m);
    } finally {
      server.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });
});
