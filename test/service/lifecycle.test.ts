import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service/server.js';
import { openStore } from '../../src/store/store.js';
import { serviceFixture, submit, waitForState, type ServiceFixture } from './fixture.js';

// A job's life on a real server (127.0.0.1, port 0) with the local runner: submitted,
// queued, built, composed, ready; a failure fails its package and skips its dependents.

describe('the build service: a job from submission to ready', () => {
  let fx: ServiceFixture;
  let server: RunningService;
  beforeAll(async () => {
    fx = await serviceFixture();
    server = await fx.start();
  }, 120_000);
  afterAll(() => fx.cleanup());

  it('builds the packages, records them, composes the wheelhouse and ends ready', { timeout: 120_000 }, async () => {
    const r = await submit({ url: server.url, body: { repository: fx.repo, ref: 'main', packages: ['beta'], composes: ['good'] } });
    expect(r.status).toBe(201);
    const id = r.body['id'] as string;
    expect(r.headers.get('location')).toBe(`/api/v1/jobs/${id}`);
    expect(r.body['commit']).toBe(fx.commit);
    expect(r.body['submitter']).toBe('local');
    const job = await waitForState({ url: server.url, id, states: ['ready', 'failed'] });
    expect(job['state'], JSON.stringify(job['transitions'])).toBe('ready');
    const transitions = job['transitions'] as Array<{ state: string; at: number; reason: string }>;
    expect(transitions.map((t) => t.state)).toEqual(['init', 'wait', 'build', 'done', 'ready']);
    expect(transitions.every((t, i) => i === 0 || t.at >= transitions[i - 1]!.at)).toBe(true);
    expect(transitions[0]!.reason).toContain(fx.commit);
    const states = job['packageStates'] as Record<string, { state: string; key: string; outputs: Array<{ name: string; digest: string }> }>;
    expect(Object.keys(states).sort()).toEqual(['alpha', 'beta']);
    expect(states['alpha']!.state).toBe('built');
    expect(states['beta']!.state).toBe('built');
    expect(states['beta']!.outputs.map((x) => x.name)).toEqual(['beta-1.0-py3-none-any.whl']);

    // the records are in the server's store, under the keys the job reports
    const store = await openStore({ path: path.join(fx.tmp, 'store'), create: false });
    if (!store.ok) throw store.error;
    for (const pkg of ['alpha', 'beta']) {
      const rec = await store.value.getRecord('build', states[pkg]!.key);
      if (!rec.ok) throw rec.error;
      expect(rec.value?.data.outputs.map((x) => x.digest)).toEqual(states[pkg]!.outputs.map((x) => x.digest));
    }

    // a poller that sends the ETag back gets 304 while the job stays as it is
    const first = await fetch(`${server.url}/api/v1/jobs/${id}`);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[0-9A-Z]{26}\.[0-9a-f]{12}\.\d+"$/);
    const unchanged = await fetch(`${server.url}/api/v1/jobs/${id}`, { headers: { 'if-none-match': etag! } });
    expect(unchanged.status).toBe(304);
    expect(await unchanged.text()).toBe('');
    expect((await fetch(`${server.url}/api/v1/jobs/${id}`, { headers: { 'if-none-match': '"other"' } })).status).toBe(200);

    // one package's state, and the wheelhouse served for pip
    const one = (await (await fetch(`${server.url}/api/v1/jobs/${id}/packages/beta`)).json()) as Record<string, unknown>;
    expect(one['state']).toBe('built');
    const composed = job['composed'] as Record<string, { dir: string; wheels: number; record: string; manifest: string }>;
    expect(composed['good']!.wheels).toBe(2);
    // recorded: the compose record in the store names the manifest
    const rec = await store.value.getRecord('compose', composed['good']!.record);
    expect(rec.ok && rec.value !== undefined).toBe(true);
    expect(await store.value.has(composed['good']!.manifest as `sha256:${string}`)).toBe(true);
    expect(existsSync(path.join(composed['good']!.dir, 'simple', 'index.html'))).toBe(true);
    const index = await fetch(`${server.url}/wheelhouses/${id}/good/simple/beta/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('beta-1.0-py3-none-any.whl');
    const asJson = await fetch(`${server.url}/wheelhouses/${id}/good/simple/`, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } });
    expect(((await asJson.json()) as { projects: Array<{ name: string }> }).projects.map((p) => p.name).sort()).toEqual(['alpha', 'beta']);

    // nothing outside the wheelhouse is reachable
    for (const bad of ['..%2f..%2f..%2fetc%2fpasswd', 'simple/..%2f..%2f..%2f..%2fetc%2fpasswd', '%2e%2e/%2e%2e/state/tokens.json']) {
      const r2 = await fetch(`${server.url}/wheelhouses/${id}/good/${bad}`);
      expect([400, 404], bad).toContain(r2.status);
      expect(await r2.text()).not.toContain('root:');
    }
    expect((await fetch(`${server.url}/wheelhouses/${id}/__proto__/simple/`)).status).toBe(404);
    expect((await fetch(`${server.url}/wheelhouses/${id}/nosuch/simple/`)).status).toBe(404);
    // the log holds the recipe's lines, per package too
    const log = await (await fetch(`${server.url}/api/v1/jobs/${id}/packages/alpha/log`)).text();
    expect(log).toContain('copying the wheel');

    // the same job again: every package is a cache hit
    const again = await submit({ url: server.url, body: { repository: fx.repo, ref: 'main', packages: ['beta'] } });
    expect(again.status).toBe(201);
    const second = await waitForState({ url: server.url, id: again.body['id'] as string, states: ['ready', 'failed'] });
    expect(Object.values(second['packageStates'] as Record<string, { state: string }>).map((s) => s.state)).toEqual(['cached', 'cached']);
    expect((second['transitions'] as Array<{ state: string }>).map((t) => t.state)).toEqual(['init', 'wait', 'build', 'done', 'ready']);
  });

  it('fails the job when a package fails, skipping its dependents and keeping the failure', { timeout: 120_000 }, async () => {
    const r = await submit({ url: server.url, body: { repository: fx.repo, ref: fx.commit, packages: ['after-broken', 'alpha'] } });
    expect(r.status).toBe(201);
    const job = await waitForState({ url: server.url, id: r.body['id'] as string, states: ['ready', 'failed'] });
    expect(job['state']).toBe('failed');
    const states = job['packageStates'] as Record<string, { state: string; error?: { code: string; message: string } }>;
    expect(states['broken']!.state).toBe('failed');
    expect(states['broken']!.error?.code).toBe('E_RUN_FAILED');
    expect(states['after-broken']!.state).toBe('skipped');
    expect(states['after-broken']!.error?.code).toBe('E_DEPENDENCY_FAILED');
    expect(['built', 'cached']).toContain(states['alpha']!.state);
    const last = (job['transitions'] as Array<{ state: string; reason: string }>).at(-1)!;
    expect(last.reason).toBe('failed: broken; skipped: after-broken');
    expect(await (await fetch(`${server.url}/api/v1/jobs/${job['id'] as string}/packages/broken/log`)).text()).toContain('about to fail');
  });

  it('lists jobs newest first, filtered and paginated', { timeout: 30_000 }, async () => {
    const all = (await (await fetch(`${server.url}/api/v1/jobs`)).json()) as { jobs: Array<{ id: string; state: string }>; total: number };
    expect(all.total).toBeGreaterThanOrEqual(3);
    const ids = all.jobs.map((j) => j.id);
    expect([...ids].sort().reverse()).toEqual(ids);
    const failed = (await (await fetch(`${server.url}/api/v1/jobs?state=failed`)).json()) as { jobs: Array<{ state: string }>; total: number };
    expect(failed.total).toBe(1);
    const both = (await (await fetch(`${server.url}/api/v1/jobs?state=failed&state=ready`)).json()) as { total: number };
    expect(both.total).toBe(all.total);
    const byPkg = (await (await fetch(`${server.url}/api/v1/jobs?package=broken`)).json()) as { total: number };
    expect(byPkg.total).toBe(1);
    const page = await fetch(`${server.url}/api/v1/jobs?per_page=1&page=2`);
    const body = (await page.json()) as { jobs: Array<{ id: string }>; links: { next?: string; prev?: string } };
    expect(body.jobs.map((j) => j.id)).toEqual([ids[1]]);
    expect(body.links.prev).toContain('page=1');
    expect(page.headers.get('link')).toContain('rel="next"');
    const future = (await (await fetch(`${server.url}/api/v1/jobs?submitted_after=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).json()) as { total: number };
    expect(future.total).toBe(0);
    const bySubmitter = (await (await fetch(`${server.url}/api/v1/jobs?submitter=nobody`)).json()) as { total: number };
    expect(bySubmitter.total).toBe(0);
  });

  it('answers healthz, about and metrics', { timeout: 30_000 }, async () => {
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const about = (await (await fetch(`${server.url}/api/v1/about`)).json()) as Record<string, unknown>;
    expect(about['runner']).toBe('local');
    expect(about['repositories']).toEqual([fx.repo]);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/weld_jobs\{state="ready"\} [1-9]/);
    expect(metrics).toMatch(/weld_builds_total\{result="cached"\} [1-9]/);
    expect(metrics).toMatch(/weld_builds_total\{result="failed"\} 1/);
    expect(metrics).toMatch(/weld_build_duration_seconds_count [1-9]/);
    expect(metrics).toMatch(/weld_store_blobs [1-9]/);
    expect(metrics).toMatch(/weld_http_requests_total\{method="POST",route="\/api\/v1\/jobs",status="201"\} [1-9]/);
    expect(metrics).toContain('weld_queue_depth 0');
  });
});
