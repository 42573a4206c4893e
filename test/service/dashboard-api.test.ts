import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service/server.js';
import { DEFAULT_WEB_DIR } from '../../src/service/web.js';
import { git } from '../helpers/git.js';
import { serviceFixture, submit, waitForState, type ServiceFixture } from './fixture.js';

// What the dashboard needs from the server, over real HTTP: its files with their caching
// headers and the client-route fallback (never under /api/), the store's summary, build
// records and blobs, a package's history with what changed between builds, each job's
// graph edges, and /whoami.

describe('the build service: the dashboard files and the API it reads', () => {
  let fx: ServiceFixture;
  let server: RunningService;
  let first: Record<string, unknown>;
  let second: Record<string, unknown>;
  beforeAll(async () => {
    if (!existsSync(path.join(DEFAULT_WEB_DIR, 'index.html'))) throw new Error(`no dashboard bundle in ${DEFAULT_WEB_DIR}: run npm run build:web`);
    fx = await serviceFixture();
    server = await fx.start();
    const a = await submit({ url: server.url, body: { repository: fx.repo, ref: 'main', packages: ['beta'] } });
    first = await waitForState({ url: server.url, id: a.body['id'] as string, states: ['ready', 'failed'] });
    // a new recipe for alpha and beta: both build again, and their history says why
    const recipe = path.join(fx.repo, 'recipes/copy-wheel.sh');
    writeFileSync(recipe, readFileSync(recipe, 'utf8') + 'echo "a second recipe"\n');
    git(fx.repo, 'commit', '-q', '-am', 'copy-wheel: say more');
    const b = await submit({ url: server.url, body: { repository: fx.repo, ref: 'main', packages: ['beta'] } });
    second = await waitForState({ url: server.url, id: b.body['id'] as string, states: ['ready', 'failed'] });
  }, 120_000);
  afterAll(() => fx.cleanup());

  it('serves index.html for pages (no-cache, ETag, CSP, 304), hashed assets immutable, gzip when asked', async () => {
    const r = await fetch(`${server.url}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    const etag = r.headers.get('etag')!;
    const html = await r.text();
    expect(html).toBe(readFileSync(path.join(DEFAULT_WEB_DIR, 'index.html'), 'utf8'));
    expect((await fetch(`${server.url}/`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    // client-side routes get the page, so a reload or a shared link works
    for (const p of [`/jobs/${first['id']}`, '/store', '/packages/alpha', '/backends?x=1']) {
      const page = await fetch(`${server.url}${p}`);
      expect(page.status, p).toBe(200);
      expect(await page.text()).toBe(html);
    }
    const js = readdirSync(path.join(DEFAULT_WEB_DIR, 'assets')).find((f) => f.endsWith('.js'))!;
    expect(html).toContain(`/assets/${js}`);
    const asset = await fetch(`${server.url}/assets/${js}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    // fetch() decodes gzip itself: the bytes must be the file's
    expect(Buffer.from(await asset.arrayBuffer()).equals(readFileSync(path.join(DEFAULT_WEB_DIR, 'assets', js)))).toBe(true);
    const raw = await import('undici').then((u) => u.request(`${server.url}/assets/${js}`, { headers: { 'accept-encoding': 'gzip' } }));
    expect(raw.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(Buffer.from(await raw.body.arrayBuffer())).equals(readFileSync(path.join(DEFAULT_WEB_DIR, 'assets', js)))).toBe(true);
    // the script that asks for a job's JSON before the app loads: in the page's head before the
    // bundle, a file of the page's own (the CSP admits no inline script), not hashed so revalidated
    expect(html.indexOf('<script src="/prefetch.js"></script>')).toBeGreaterThan(0);
    expect(html.indexOf('/prefetch.js')).toBeLessThan(html.indexOf(`/assets/${js}`));
    const prefetch = await fetch(`${server.url}/prefetch.js`);
    expect(prefetch.status).toBe(200);
    expect(prefetch.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(prefetch.headers.get('cache-control')).toBe('no-cache');
    expect(await prefetch.text()).toContain("'/api/v1/jobs/'");
    // a missing asset is a 404, not the page
    const missing = await fetch(`${server.url}/assets/index-00000000.js`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('reload the page');
    const head = await fetch(`${server.url}/jobs`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('never answers the API, the wheelhouses or a POST with the page', async () => {
    for (const p of ['/api/v1/nope', '/api/v1/jobs/x/y/z', '/api/', '/wheelhouses/nope/x/simple/']) {
      const r = await fetch(`${server.url}${p}`);
      expect(r.status, p).toBeGreaterThanOrEqual(400);
      expect(r.headers.get('content-type'), p).toMatch(/json|text\/plain/);
      expect(await r.text(), p).not.toContain('<div id="root">');
    }
    const post = await fetch(`${server.url}/jobs`, { method: 'POST' });
    expect(post.status).toBe(404);
    expect(((await post.json()) as { error: { code: string } }).error.code).toBe('E_NOT_FOUND');
  });

  it('says how to build the dashboard when its bundle is missing', async () => {
    const other = await fx.start({ stateDir: path.join(fx.tmp, 'state-nobundle'), storePath: path.join(fx.tmp, 'store-nobundle'), webDir: mkdtempSync(path.join(fx.tmp, 'web-')) });
    const r = await fetch(`${other.url}/`);
    expect(r.status).toBe(404);
    const e = ((await r.json()) as { error: { message: string; hint: string } }).error;
    expect(e.message).toContain('no dashboard');
    expect(e.hint).toContain('npm run build:web');
  });

  it("gives each job its build graph's edges, not in the list's rows", async () => {
    expect(first['state']).toBe('ready');
    expect(first['requires']).toEqual({ alpha: [], beta: ['alpha'] });
    const list = (await (await fetch(`${server.url}/api/v1/jobs`)).json()) as { jobs: Array<Record<string, unknown>> };
    expect(list.jobs[0]).not.toHaveProperty('requires');
  });

  it("summarises the store, and serves a build's record and its blobs", async () => {
    const s = (await (await fetch(`${server.url}/api/v1/store`)).json()) as Record<string, unknown>;
    expect(s['path']).toBe(path.join(fx.tmp, 'store'));
    expect(s['blobs']).toBeGreaterThan(4);
    expect(s['bytes']).toBeGreaterThan(0);
    expect((s['records'] as Record<string, number>)['build']).toBe(4);
    expect(s['remote']).toBeNull();
    expect((await fetch(`${server.url}/api/v1/store?x=1`)).status).toBe(400);

    const alpha = (second['packageStates'] as Record<string, { key: string; outputs: Array<{ digest: string; size: number }> }>)['alpha']!;
    const rec = (await (await fetch(`${server.url}/api/v1/store/builds/${alpha.key}`)).json()) as Record<string, unknown>;
    expect(rec['cacheKey']).toBe(alpha.key);
    expect(rec['package']).toBe('alpha');
    expect(typeof rec['provenance']).toBe('string');
    expect((await fetch(`${server.url}/api/v1/store/builds/sha256:${'0'.repeat(64)}`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/v1/store/builds/..%2F..%2Fetc`)).status).toBe(400);

    const out = alpha.outputs[0]!;
    const blob = await fetch(`${server.url}/api/v1/store/blobs/${out.digest}`);
    expect(blob.status).toBe(200);
    const bytes = Buffer.from(await blob.arrayBuffer());
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(out.digest);
    expect(bytes.length).toBe(out.size);
    expect(blob.headers.get('content-type')).toBe('application/octet-stream');
    expect(blob.headers.get('x-content-type-options')).toBe('nosniff');
    expect(blob.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${server.url}/api/v1/store/blobs/${out.digest}`, { headers: { 'if-none-match': `"${out.digest}"` } })).status).toBe(304);
    const prov = await fetch(`${server.url}/api/v1/store/blobs/${rec['provenance'] as string}?type=json`);
    expect(prov.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(JSON.parse(await prov.text())).toHaveProperty('_type');
    expect((await fetch(`${server.url}/api/v1/store/blobs/sha256:${'0'.repeat(64)}`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/v1/store/blobs/${out.digest}?type=html`)).status).toBe(400);
  });

  it("tells a package's builds newest first, with what changed since the one before", async () => {
    const r = (await (await fetch(`${server.url}/api/v1/packages/Alpha/builds`)).json()) as { package: string; total: number; builds: Array<{ key: string; changed: string[]; previous?: string }> };
    expect(r.package).toBe('alpha');
    expect(r.total).toBe(2);
    const [newer, older] = r.builds;
    expect(newer!.key).toBe((second['packageStates'] as Record<string, { key: string }>)['alpha']!.key);
    expect(newer!.previous).toBe(older!.key);
    expect(newer!.changed).toHaveLength(1);
    expect(newer!.changed[0]).toMatch(/^recipe copy-wheel [0-9a-f]{12} → [0-9a-f]{12}$/);
    expect(older!.changed).toEqual([]);
    expect(older!.previous).toBeUndefined();
    // beta's recipe changed too; its dependency alpha rebuilt to the same wheel, so that input did not change
    const beta = (await (await fetch(`${server.url}/api/v1/packages/beta/builds`)).json()) as { builds: Array<{ changed: string[] }> };
    expect(beta.builds[0]!.changed).toEqual([expect.stringMatching(/^recipe copy-wheel /)]);
    const none = (await (await fetch(`${server.url}/api/v1/packages/nobody/builds`)).json()) as { total: number; builds: unknown[] };
    expect(none).toEqual({ package: 'nobody', total: 0, builds: [] });
    expect((await fetch(`${server.url}/api/v1/packages/a..b/builds`)).status).toBe(400);
  });

  it('says who a token is; without tokens the caller is local', async () => {
    expect(await (await fetch(`${server.url}/api/v1/whoami`)).json()).toEqual({ name: 'local', role: 'admin', tokens: false });
  });
});
