import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Podman } from '../../src/podman/podman.js';
import { openStore } from '../../src/store/store.js';
import { summaryData } from '../helpers/event-lines.js';
import { git, initRepo } from '../helpers/git.js';
import { REPO_ROOT, sampleProject, weld } from '../helpers/project.js';
import { sharedEnv } from './shared.js';

// The build service under podman s390x: the sample distro submitted to a real `weld
// server` builds, composes its wheelhouse, and pip installs from the server; a cancel
// mid-build leaves no container and no record.

describe('weld server with podman, s390x', () => {
  let root: string;
  let cleanup: () => void;
  let scratch: string;
  let env: NodeJS.ProcessEnv;
  let runtimeTag = '';
  let podman: Podman;
  let server: ChildProcess;
  let url = '';
  let serverErr = '';

  beforeAll(async () => {
    ({ root, cleanup } = sampleProject());
    scratch = mkdtempSync(path.join(os.tmpdir(), 'weld-e2e-server-'));
    env = sharedEnv();
    for (const envName of ['bookworm-s390x', 'bookworm-s390x-runtime']) {
      for (const step of ['fetch', 'compose']) {
        const r = await weld(['env', step, envName, '--json'], { cwd: root, env });
        expect(r.code, r.stderr).toBe(0);
        if (step === 'compose' && envName.endsWith('-runtime')) runtimeTag = summaryData<{ tag: string }>(r.stdout).tag;
      }
    }
    writeFileSync(path.join(root, 'metadata/composes/web.toml'), '[compose]\nkind = "wheelhouse"\npackages = ["jinja2"]\n');
    writeFileSync(path.join(root, 'metadata/composes/web-image.toml'), '[compose]\nkind = "image"\nenv = "bookworm-s390x-runtime"\npackages = ["jinja2"]\ncmd = ["python3"]\n');
    writeFileSync(path.join(root, '.gitignore'), 'store/\nmirrors/\n.weld/\nout/\n');
    initRepo(root);
    const p = Podman.open({ root, arch: 's390x', env });
    if (!p.ok) throw p.error;
    podman = p.value;
    server = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/weld'), 'server', '--listen', '127.0.0.1:0', '--state', path.join(scratch, 'state'), '--runner', 'podman'], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
    url = await new Promise<string>((resolve, reject) => {
      server.stderr!.setEncoding('utf8').on('data', (s: string) => {
        serverErr += s;
        const m = /"msg":"listening","url":"([^"]+)"/.exec(serverErr);
        if (m) resolve(m[1]!);
      });
      server.on('close', (code) => reject(new Error(`weld server exited ${code}: ${serverErr}`)));
    });
  });
  afterAll(() => {
    server?.kill('SIGTERM');
    cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  const post = async (body: unknown) => {
    const r = await fetch(`${url}/api/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const job = async (id: string) => (await (await fetch(`${url}/api/v1/jobs/${id}`)).json()) as Record<string, unknown>;
  const until = async (id: string, done: (j: Record<string, unknown>) => boolean, ms: number) => {
    const end = Date.now() + ms;
    for (;;) {
      const j = await job(id);
      if (done(j)) return j;
      if (Date.now() > end) throw new Error(`job ${id}: ${JSON.stringify(j['transitions'])}\n${serverErr.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  };

  it('builds jinja2 and markupsafe, composes the wheelhouse and an image; pip installs from the server, and the image runs', async () => {
    const r = await post({ repository: root, ref: 'main', packages: ['jinja2'], composes: ['web', 'web-image'] });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const id = r.body['id'] as string;
    const j = await until(id, (x) => x['state'] === 'ready' || x['state'] === 'failed', 40 * 60_000);
    const log = j['state'] === 'ready' ? '' : await (await fetch(`${url}/api/v1/jobs/${id}/log`)).text();
    expect(j['state'], `${JSON.stringify(j['transitions'])}\n${JSON.stringify(j['packageStates'])}\n${log.slice(-4000)}`).toBe('ready');
    expect(Object.keys(j['packageStates'] as object).sort()).toEqual(['jinja2', 'markupsafe']);
    const script = `python3 -m pip install --no-cache-dir --disable-pip-version-check --break-system-packages --index-url ${url}/wheelhouses/${id}/web/simple jinja2 && python3 -c 'import jinja2, markupsafe, markupsafe._speedups; print("jinja2", jinja2.__version__, "markupsafe", markupsafe.__version__)'`;
    // The container shares the host's network namespace, so the server's loopback is its own.
    const pip = await new Promise<{ status: number | null; out: string }>((resolve) => {
      const child = spawn(podman.bin, ['run', '--rm', '--arch', 's390x', '--network=host', runtimeTag, 'sh', '-c', script], { env: podman.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.on('close', (status) => resolve({ status, out }));
    });
    expect(pip.status, pip.out).toBe(0);
    expect(pip.out).toContain('jinja2 3.1.2 markupsafe 2.1.2');

    // The image: loaded into the server's podman, and served as the archive podman loads.
    const image = (j['composed'] as Record<string, { kind: string; tag: string; dir: string; manifest: string }>)['web-image']!;
    expect(image.kind).toBe('image');
    expect((j['links'] as Record<string, string>)['image:web-image']).toBe(`/images/${id}/web-image.oci.tar`);
    const run = spawnSync(podman.bin, ['run', '--rm', '--arch', 's390x', '--network=none', image.tag, 'python3', '-c', 'import jinja2, markupsafe._speedups; print("image", jinja2.__version__)'], { env: podman.env, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('image 3.1.2');
    const archive = await fetch(`${url}/images/${id}/web-image.oci.tar`);
    expect(archive.status).toBe(200);
    expect(archive.headers.get('etag')).toBe(`"${image.manifest}"`);
    expect(Buffer.from(await archive.arrayBuffer()).equals(readFileSync(image.dir))).toBe(true);
    spawnSync(podman.bin, ['rmi', '--force', image.tag], { env: podman.env, stdio: 'ignore' });
  });

  it('cancels a build mid-way: no container is left and nothing is recorded', async () => {
    // a build var gives markupsafe a key of its own, so it really builds
    const file = path.join(root, 'metadata/packages/markupsafe.toml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('recipe = "python-wheel"\n', 'recipe = "python-wheel"\nvars = { E2E_CANCEL = "1" }\n'));
    git(root, 'commit', '-q', '-am', 'markupsafe: a build var for the cancel test');
    const r = await post({ repository: root, ref: 'main', packages: ['markupsafe'] });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const id = r.body['id'] as string;
    const building = await until(id, (x) => (x['packageStates'] as Record<string, { state: string }>)['markupsafe']!.state === 'building', 10 * 60_000);
    const key = (building['packageStates'] as Record<string, { key: string }>)['markupsafe']!.key;
    const c = await fetch(`${url}/api/v1/jobs/${id}/cancel`, { method: 'POST' });
    expect(c.status).toBe(202);
    const j = await until(id, (x) => x['state'] === 'failed', 5 * 60_000);
    expect((j['packageStates'] as Record<string, { state: string }>)['markupsafe']!.state).toBe('canceled');
    const ps = spawnSync(podman.bin, ['ps', '-a', '--format', '{{.Names}} {{.Image}}'], { env: podman.env, encoding: 'utf8' });
    expect(ps.status).toBe(0);
    expect(ps.stdout.split('\n').filter((l) => l.includes('weld'))).toEqual([]);
    const store = await openStore({ path: env['WELD_STORE']!, create: false });
    if (!store.ok) throw store.error;
    const rec = await store.value.getRecord('build', key);
    expect(rec.ok && rec.value).toBeUndefined();
  });
});
