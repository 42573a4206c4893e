import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBackendsFile } from '../../src/runner/backends/config.js';
import { BackendPool } from '../../src/runner/backends/pool.js';
import type { RunningService } from '../../src/service/server.js';
import { addToken } from '../../src/service/tokens.js';
import { serviceFixture, submit, type ServiceFixture } from './fixture.js';

// GET/POST /api/v1/backends and DELETE /api/v1/backends/{name} on a real server, with real
// tokens: the shape the dashboard reads, admin-only changes, the file written before the
// pool changes, and hostile bodies refused with the field named.

describe('the build service: /api/v1/backends', () => {
  let fx: ServiceFixture;
  let server: RunningService;
  let pool: BackendPool;
  let file: string;
  const secrets: Record<string, string> = {};
  beforeAll(async () => {
    fx = await serviceFixture();
    const state = path.join(fx.tmp, 'state');
    for (const [name, role] of [['ci', 'submit'], ['root', 'admin']] as const) {
      const t = addToken({ stateDir: state, name, role });
      if (!t.ok) throw t.error;
      secrets[name] = t.value.secret;
    }
    file = path.join(fx.tmp, 'etc/backends.toml');
    pool = new BackendPool({ backends: [{ name: 'z1', url: 'ssh://weld@z1.example.com/run/podman/podman.sock', arch: 's390x', labels: { cpu: 'native' }, maxJobs: 4 }] });
    server = await fx.start({ backends: { pool, file } });
  }, 120_000);
  afterAll(() => fx.cleanup());

  const call = (o: { method: string; url: string; token?: string; body?: unknown }) =>
    fetch(`${server.url}/api/v1${o.url}`, {
      method: o.method,
      headers: { ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) },
      ...(o.body !== undefined ? { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) } : {}),
    });

  it('lists each backend with its load and health, in the shape the dashboard reads', async () => {
    const r = await call({ method: 'GET', url: '/backends' });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ backends: [{ name: 'z1', url: 'ssh://weld@z1.example.com/run/podman/podman.sock', arch: 's390x', labels: { cpu: 'native' }, maxJobs: 4, active: 0, healthy: true, failures: 0, skippedUntil: null }] });
  });

  it('adds and removes backends with an admin token only, writing the file first', async () => {
    const body = { name: 'qemu1', url: 'tcp://10.0.0.5:8888', arch: 's390x', labels: { size: 'big' }, maxJobs: 2 };
    expect((await call({ method: 'POST', url: '/backends', body })).status).toBe(401);
    const forbidden = await call({ method: 'POST', url: '/backends', token: secrets['ci']!, body });
    expect(forbidden.status).toBe(403);
    expect(existsSync(file)).toBe(false);
    const added = await call({ method: 'POST', url: '/backends', token: secrets['root']!, body });
    expect(added.status).toBe(201);
    expect(added.headers.get('location')).toBe('/api/v1/backends/qemu1');
    expect(await added.json()).toEqual({ backend: { ...body, active: 0, healthy: true, failures: 0, skippedUntil: null } });
    const onDisk = readBackendsFile(file);
    expect(onDisk.ok && onDisk.value.map((b) => b.name)).toEqual(['z1', 'qemu1']);
    expect(pool.list().map((b) => b.name)).toEqual(['z1', 'qemu1']);
    const again = await call({ method: 'POST', url: '/backends', token: secrets['root']!, body });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('E_BACKEND_EXISTS');

    expect((await call({ method: 'DELETE', url: '/backends/qemu1', token: secrets['ci']! })).status).toBe(403);
    const removed = await call({ method: 'DELETE', url: '/backends/qemu1', token: secrets['root']! });
    expect([removed.status, await removed.json()]).toEqual([200, { removed: 'qemu1' }]);
    const missing = await call({ method: 'DELETE', url: '/backends/qemu1', token: secrets['root']! });
    expect(missing.status).toBe(404);
    expect(readFileSync(file, 'utf8')).not.toContain('qemu1');
    expect(pool.list().map((b) => b.name)).toEqual(['z1']);
  });

  it('adds an ssh backend with an identity (a key on the server\'s host), lists it, and writes it to the file', async () => {
    const key = path.join(fx.tmp, 'z9_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], { stdio: 'ignore' });
    const body = { name: 'z9', url: 'ssh://weld@z9.example.com:2222/run/podman/podman.sock', arch: 's390x', identity: key };
    const added = await call({ method: 'POST', url: '/backends', token: secrets['root']!, body });
    expect(added.status).toBe(201);
    expect(await added.json()).toEqual({ backend: { ...body, labels: {}, maxJobs: 1, active: 0, healthy: true, failures: 0, skippedUntil: null } });
    const onDisk = readBackendsFile(file);
    expect(onDisk.ok && onDisk.value.find((b) => b.name === 'z9')?.identity).toBe(key);
    const listed = (await (await call({ method: 'GET', url: '/backends' })).json()) as { backends: Array<{ name: string; identity?: string }> };
    expect(listed.backends.find((b) => b.name === 'z9')?.identity).toBe(key);
    expect(listed.backends.find((b) => b.name === 'z1')).not.toHaveProperty('identity');
    expect((await call({ method: 'DELETE', url: '/backends/z9', token: secrets['root']! })).status).toBe(200);
  });

  it('refuses hostile backends and selectors, naming what is wrong, and changes nothing', async () => {
    const before = readFileSync(file, 'utf8');
    const cases: Array<[unknown, number, RegExp]> = [
      [{ name: 'x', url: 'tcp://-oProxyCommand=sh:22', arch: 's390x' }, 400, /"-oProxyCommand=sh" is not a host name or IP address/],
      [{ name: '../etc', url: 'unix:///run/podman/podman.sock', arch: 's390x' }, 400, /backend name "..\/etc" must be/],
      [{ name: 'x', url: 'unix:///run/podman/podman.sock', arch: 'x86' }, 400, /arch must be one of s390x, amd64, arm64, ppc64el/],
      [{ name: 'x', url: 'unix:///run/podman/podman.sock', arch: 's390x', labels: { 'a b': 'c' } }, 400, /label key "a b" must be/],
      [{ name: 'x', url: 'unix:///run/podman/podman.sock', arch: 's390x', maxJobs: 0 }, 400, /maxJobs/],
      [{ name: 'x', url: 'unix:///run/podman/podman.sock', arch: 's390x', extra: 1 }, 400, /unknown field "extra"/],
      [{ name: 'x', url: 'unix:///run/podman/podman.sock', arch: 's390x', identity: '/etc/weld/key' }, 400, /identity is for ssh:\/\/ backends only; unix URLs log in with no key/],
      [{ name: 'x', url: 'ssh://weld@z2/run/podman/podman.sock', arch: 's390x', identity: '/etc/weld/../shadow' }, 400, /identity "\/etc\/weld\/..\/shadow" must be an absolute path/],
      [{ name: 'x', url: 'ssh://weld@z2/run/podman/podman.sock', arch: 's390x', identity: 'key --url=tcp://x:1' }, 400, /identity "key --url=tcp:\/\/x:1" must be an absolute path/],
      [{ name: 'x', url: 'ssh://weld@z2/run/podman/podman.sock', arch: 's390x', identity: 42 }, 400, /identity/],
      // the key must be one on the server's host, and usable: what is wrong is said, never what the file holds
      [{ name: 'x', url: 'ssh://weld@z2/run/podman/podman.sock', arch: 's390x', identity: '/etc/passwd' }, 400, /^x: identity \/etc\/passwd is open to others than its owner \(mode 0644\)/],
      [{ name: 'x', url: 'ssh://weld@z2/run/podman/podman.sock', arch: 's390x', identity: '/nonexistent/key' }, 400, /^x: identity \/nonexistent\/key cannot be read \(no such file\)$/],
      ['{"name": ', 400, /./],
    ];
    for (const [body, status, why] of cases) {
      const r = await call({ method: 'POST', url: '/backends', token: secrets['root']!, body });
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(why);
    }
    expect(readFileSync(file, 'utf8')).toBe(before);
    const job = await submit({ url: server.url, token: secrets['ci']!, body: { repository: fx.repo, ref: 'main', packages: ['alpha'], selector: { 'Bad Key': 'x' } } });
    expect(job.status).toBe(400);
    expect((job.body as { error: { message: string; field: string } }).error).toMatchObject({ field: 'selector', message: expect.stringMatching(/^selector: label key "Bad Key" must be/) });
  });
});
