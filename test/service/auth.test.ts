import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service/server.js';
import { startService } from '../../src/service/server.js';
import { addToken, revokeToken } from '../../src/service/tokens.js';
import { serviceFixture, submit, waitForState, type ServiceFixture } from './fixture.js';

// Every mutating endpoint × no token, a bad token, a revoked token; cancel by another
// submitter is refused and allowed to an admin; read = "token" closes the reads; and the
// server will not listen beyond loopback without tokens.

describe('the build service: tokens and roles', () => {
  let fx: ServiceFixture;
  let server: RunningService;
  const secrets: Record<string, string> = {};
  let state: string;
  beforeAll(async () => {
    fx = await serviceFixture({ slowLines: 200, slowPause: 0.05 });
    state = path.join(fx.tmp, 'state');
    for (const [name, role] of [['ci', 'submit'], ['alice', 'submit'], ['root', 'admin'], ['gone', 'submit']] as const) {
      const t = addToken({ stateDir: state, name, role });
      if (!t.ok) throw t.error;
      secrets[name] = t.value.secret;
    }
    const r = revokeToken({ stateDir: state, name: 'gone' });
    if (!r.ok) throw r.error;
    server = await fx.start();
  }, 120_000);
  afterAll(() => fx.cleanup());

  const call = (o: { method: string; url: string; token?: string; raw?: string; body?: unknown }) =>
    fetch(`${server.url}${o.url}`, {
      method: o.method,
      headers: { ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(o.raw !== undefined ? { authorization: o.raw } : o.token ? { authorization: `Bearer ${o.token}` } : {}) },
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
    });

  it('keeps only hashes of the secrets', async () => {
    const { readFileSync, statSync } = await import('node:fs');
    const file = path.join(state, 'tokens.json');
    const text = readFileSync(file, 'utf8');
    for (const s of Object.values(secrets)) expect(text).not.toContain(s);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('answers 401 on every mutating endpoint without a valid token, and writes nothing', { timeout: 60_000 }, async () => {
    const job = await submit({ url: server.url, token: secrets['ci']!, body: { repository: fx.repo, ref: 'main', packages: ['slow'] } });
    expect(job.status).toBe(201);
    const id = job.body['id'] as string;
    const endpoints = [
      { method: 'POST', url: '/api/v1/jobs', body: { repository: fx.repo, ref: 'main', packages: ['alpha'] } },
      { method: 'POST', url: `/api/v1/jobs/${id}/cancel` },
      { method: 'PATCH', url: `/api/v1/jobs/${id}`, body: { state: 'failed' } },
    ];
    const bad = [{}, { raw: 'Bearer weld_not-a-real-token' }, { raw: 'Basic dXNlcjpwYXNz' }, { raw: `Bearer ${secrets['gone']}` }, { raw: `bearer${secrets['ci']}` }];
    const why = [/needs a token/, /not one this server knows/, /not "Bearer <token>"/, /revoked/, /not "Bearer <token>"/];
    for (const e of endpoints)
      for (const [i, b] of bad.entries()) {
        const r = await call({ ...e, ...b });
        expect(r.status, `${e.method} ${e.url} ${JSON.stringify(b)}`).toBe(401);
        expect(r.headers.get('www-authenticate')).toBe('Bearer realm="weld"');
        const body = (await r.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('E_UNAUTHORIZED');
        expect(body.error.message).toMatch(why[i]!);
      }
    const list = (await (await call({ method: 'GET', url: '/api/v1/jobs' })).json()) as { total: number; jobs: Array<{ state: string }> };
    expect(list.total).toBe(1);
    expect(['wait', 'build']).toContain(list.jobs[0]!.state);

    // the wrong submitter: 403; the submitter itself: accepted
    const other = await call({ method: 'POST', url: `/api/v1/jobs/${id}/cancel`, token: secrets['alice']! });
    expect(other.status).toBe(403);
    expect(((await other.json()) as { error: { message: string } }).error.message).toBe(`job ${id} was submitted by ci; only its submitter or an admin may cancel it`);
    const patchOther = await call({ method: 'PATCH', url: `/api/v1/jobs/${id}`, token: secrets['alice']!, body: { state: 'failed' } });
    expect(patchOther.status).toBe(403);
    expect((await call({ method: 'PATCH', url: `/api/v1/jobs/${id}`, token: secrets['ci']!, body: { state: 'done' } })).status).toBe(400);
    const own = await call({ method: 'PATCH', url: `/api/v1/jobs/${id}`, token: secrets['ci']!, body: { state: 'failed' } });
    expect(own.status).toBe(202);
    const ended = await waitForState({ url: server.url, id, states: ['failed'] });
    expect((ended['transitions'] as Array<{ reason: string }>).at(-1)!.reason).toBe('canceled by ci');
    const pkg = (ended['packageStates'] as Record<string, { state: string }>)['slow']!;
    expect(pkg.state).toBe('canceled');
    // a canceled build leaves no record
    const { openStore } = await import('../../src/store/store.js');
    const store = await openStore({ path: path.join(fx.tmp, 'store'), create: false });
    if (!store.ok) throw store.error;
    const builds = await store.value.buildsOf('slow');
    expect(builds.ok && builds.value).toEqual([]);
    // canceling a finished job is a state conflict
    expect((await call({ method: 'POST', url: `/api/v1/jobs/${id}/cancel`, token: secrets['root']! })).status).toBe(409);
  });

  it('lets an admin cancel anyone\'s job, and the reason says who', { timeout: 60_000 }, async () => {
    const job = await submit({ url: server.url, token: secrets['alice']!, body: { repository: fx.repo, ref: 'main', packages: ['slow'] } });
    expect(job.status).toBe(201);
    expect(job.body['submitter']).toBe('alice');
    const id = job.body['id'] as string;
    const r = await call({ method: 'POST', url: `/api/v1/jobs/${id}/cancel`, token: secrets['root']! });
    expect(r.status).toBe(202);
    const ended = await waitForState({ url: server.url, id, states: ['failed'] });
    expect((ended['transitions'] as Array<{ reason: string }>).at(-1)!.reason).toBe('canceled by root');
    expect((await (await call({ method: 'GET', url: `/api/v1/jobs?submitter=alice` })).json()) as { total: number }).toMatchObject({ total: 1 });
  });

  it('closes the reads with read = "token", and refuses to listen beyond loopback without tokens', { timeout: 60_000 }, async () => {
    const closed = await fx.start({ config: { read: 'token' }, stateDir: state, storePath: path.join(fx.tmp, 'store2') }).catch((e: Error) => e);
    // one state dir, one server: the job store is locked by the running one
    expect(closed).toBeInstanceOf(Error);
    expect((closed as Error).message).toMatch(/cannot open the job store/);
    const state2 = path.join(fx.tmp, 'state2');
    const t = addToken({ stateDir: state2, name: 'reader', role: 'submit' });
    if (!t.ok) throw t.error;
    const s2 = await fx.start({ config: { read: 'token' }, stateDir: state2, storePath: path.join(fx.tmp, 'store2') });
    expect((await fetch(`${s2.url}/api/v1/jobs`)).status).toBe(401);
    expect((await fetch(`${s2.url}/api/v1/jobs`, { headers: { authorization: `Bearer ${t.value.secret}` } })).status).toBe(200);
    expect((await fetch(`${s2.url}/healthz`)).status).toBe(200);

    const open = await startService({
      stateDir: path.join(fx.tmp, 'state3'),
      storePath: path.join(fx.tmp, 'store3'),
      mirrorsDir: path.join(fx.tmp, 'mirrors'),
      runnerName: 'local',
      makeRunner: () => {
        throw new Error('bug: no job runs on a server that refused to start');
      },
      host: '0.0.0.0',
      port: 0,
      cwd: fx.repo,
      env: {},
      config: {},
      weldVersion: 'test',
      log: () => {},
    });
    expect(open.ok).toBe(false);
    if (!open.ok) expect(open.error.message).toMatch(/will not listen on 0\.0\.0\.0 without API tokens/);
  });

  it('serves HTTPS with a certificate and key', { timeout: 60_000 }, async () => {
    const { execFileSync } = await import('node:child_process');
    const { readFileSync } = await import('node:fs');
    const dir = path.join(fx.tmp, 'tls');
    execFileSync('mkdir', ['-p', dir]);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const s = await fx.start({ stateDir: path.join(fx.tmp, 'state-tls'), storePath: path.join(fx.tmp, 'store-tls'), config: { tlsCert: path.join(dir, 'cert.pem'), tlsKey: path.join(dir, 'key.pem') } });
    expect(s.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const { Agent, request } = await import('undici');
    const r = await request(`${s.url}/api/v1/about`, { dispatcher: new Agent({ connect: { ca: readFileSync(path.join(dir, 'cert.pem')) } }) });
    expect(r.statusCode).toBe(200);
    expect(((await r.body.json()) as { tls: boolean }).tls).toBe(true);
  });
});
