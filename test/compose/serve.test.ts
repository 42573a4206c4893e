import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { negotiate, serveWheelhouse, type Served } from '../../src/compose/wheelhouse/serve.js';
import type { BuildProject } from '../helpers/build-project.js';
import { weld } from '../helpers/project.js';
import { wheelProject } from '../helpers/wheel-project.js';

// A real wheelhouse (built with the local runner, composed by the CLI) served over real
// loopback HTTP; requests are made with node:http so the raw path reaches the server.

const PIP_ACCEPT = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01';

function get(url: string, opts: { path: string; method?: string; accept?: string }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: opts.path, method: opts.method ?? 'GET', headers: opts.accept ? { accept: opts.accept } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serving a wheelhouse', () => {
  let project: BuildProject;
  let dir: string;
  let served: Served;
  const requests: string[] = [];
  const wheel = 'MarkupSafe-2.1.2-py3-none-any.whl';

  beforeAll(async () => {
    project = await wheelProject({ wheels: [{ pkg: 'markupsafe', name: 'MarkupSafe', version: '2.1.2', requiresPython: '>=3.7' }] });
    const r = await weld(['compose', 'wheelhouse', '--build'], { cwd: project.root, env: { WELD_STORE: path.join(project.root, 'store'), WELD_RUNNER: 'local' } });
    if (r.code !== 0) throw new Error(r.stdout + r.stderr);
    dir = path.join(project.root, 'out/wheelhouse/default');
    const s = await serveWheelhouse({ dir, port: 0, onEvent: (e) => requests.push(`${e.method} ${e.path} ${e.status}`) });
    if (!s.ok) throw s.error;
    served = s.value;
  }, 120_000);
  afterAll(async () => {
    await served?.close();
    project.cleanup();
  });

  it('binds loopback and serves the HTML index to a plain client', async () => {
    expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const root = await get(served.url, { path: '/simple/' });
    expect(root.status).toBe(200);
    expect(root.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(root.body.toString()).toBe(readFileSync(path.join(dir, 'simple/index.html'), 'utf8'));
    const page = await get(served.url, { path: '/simple/markupsafe/' });
    expect(page.body.toString()).toBe(readFileSync(path.join(dir, 'simple/markupsafe/index.html'), 'utf8'));
    expect(page.headers['vary']).toBe('Accept');
  });

  it('serves PEP 691 JSON to a client that prefers it, as pip does', async () => {
    const page = await get(served.url, { path: '/simple/markupsafe/', accept: PIP_ACCEPT });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('application/vnd.pypi.simple.v1+json');
    expect(JSON.parse(page.body.toString())).toEqual(JSON.parse(readFileSync(path.join(dir, 'simple/markupsafe/index.json'), 'utf8')));
    const html = await get(served.url, { path: '/simple/markupsafe/', accept: 'application/vnd.pypi.simple.v1+html' });
    expect(html.headers['content-type']).toBe('application/vnd.pypi.simple.v1+html; charset=utf-8');
    const refused = await get(served.url, { path: '/simple/', accept: 'application/xml' });
    expect(refused.status).toBe(406);
  });

  it('serves wheels and their PEP 658 metadata byte for byte; HEAD gives the length only', async () => {
    const w = await get(served.url, { path: `/wheels/${wheel}` });
    expect(w.status).toBe(200);
    expect(w.body.equals(readFileSync(path.join(dir, 'wheels', wheel)))).toBe(true);
    const m = await get(served.url, { path: `/wheels/${wheel}.metadata` });
    expect(m.body.toString()).toContain('Name: MarkupSafe\n');
    const head = await get(served.url, { path: `/wheels/${wheel}`, method: 'HEAD' });
    expect(head.headers['content-length']).toBe(String(w.body.length));
    expect(head.body.length).toBe(0);
  });

  it('redirects a directory without its slash, so relative links resolve', async () => {
    const r = await get(served.url, { path: '/simple/markupsafe' });
    expect(r.status).toBe(301);
    expect(r.headers['location']).toBe('/simple/markupsafe/');
    // an empty segment must not turn the redirect into //host/… (another site)
    const odd = await get(served.url, { path: '/.//simple' });
    expect(odd.status === 400 || odd.headers['location'] === '/simple/').toBe(true);
  });

  it('reaches nothing outside the wheelhouse: dot segments, encoded ones, NULs, symlinks, other methods', async () => {
    mkdirSync(path.join(project.root, 'secret'), { recursive: true });
    writeFileSync(path.join(project.root, 'secret/key'), 'hunter2');
    symlinkSync(path.join(project.root, 'secret/key'), path.join(dir, 'wheels/leak.whl'));
    for (const p of ['/../secret/key', '/simple/..%2f..%2fsecret/key', '/%2e%2e/secret/key', '/wheels/..%5c..%5csecret%5ckey', '/wheels/leak.whl', '/wheels/%00.whl', '/nothing-here']) {
      const r = await get(served.url, { path: p });
      expect([400, 404], p).toContain(r.status);
      expect(r.body.toString(), p).not.toContain('hunter2');
    }
    expect((await get(served.url, { path: '/simple/', method: 'POST' })).status).toBe(405);
    expect(requests).toContain('GET /wheels/leak.whl 404');
  });

  it('says what is wrong with a directory that is not a wheelhouse, and with a taken port', async () => {
    const bad = await serveWheelhouse({ dir: project.root, port: 0 });
    expect(!bad.ok && bad.error.message).toBe(`${project.root} is not a wheelhouse (no simple/index.html)`);
    const taken = await serveWheelhouse({ dir, port: served.port });
    expect(!taken.ok && taken.error.message).toMatch(/^cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    expect(!taken.ok && taken.error.hint).toBe('another process has that port; pick another with --port');
  });

  it('weld serve prints the URL and stops on Ctrl-C', async () => {
    let stdout = '';
    let stderr = '';
    const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, cwd: project.root, env: {} };
    const { run } = await import('../../src/cli/main.js');
    const running = run(['serve', '--wheelhouse', 'out/wheelhouse/default', '--port', '0'], io);
    while (!/at (http:\S+)/.test(stdout)) await new Promise((r) => setTimeout(r, 20));
    const url = /at (http:\S+)/.exec(stdout)![1]!;
    expect(stdout).toContain(`pip install --index-url ${url}simple <project>`);
    expect((await get(url, { path: '/simple/' })).status).toBe(200);
    expect(stderr).toBe('GET /simple/ 200\n');
    process.emit('SIGINT');
    expect(await running).toBe(0);
    const usage = await weld(['serve'], { cwd: project.root });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--wheelhouse <dir> is needed');
    const port = await weld(['serve', '--wheelhouse', dir, '--port', 'http'], { cwd: project.root });
    expect(port.stderr).toContain('--port http is not a port number');
  });
});

describe('Accept negotiation (PEP 691)', () => {
  it('picks the highest q among the formats offered; no header or a wildcard means HTML', () => {
    expect(negotiate(PIP_ACCEPT)).toBe('application/vnd.pypi.simple.v1+json');
    expect(negotiate('text/html, application/vnd.pypi.simple.v1+json;q=0.5')).toBe('text/html');
    expect(negotiate(undefined)).toBe('text/html');
    expect(negotiate('*/*')).toBe('text/html');
    expect(negotiate('application/vnd.pypi.simple.v1+json;q=0')).toBeUndefined();
    expect(negotiate('image/png')).toBeUndefined();
  });
});
