import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { REPO_ROOT } from '../helpers/project.js';
import { serviceFixture, submit, waitForState, type ServiceFixture } from './fixture.js';

// kill -9 of a real `weld server` process mid-build, then a restart on the same state
// directory: the job resumes and ends ready, what had finished is a cache hit, no record is
// written twice, and the log goes on where it stopped.

interface Child {
  proc: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startChild(o: { fx: ServiceFixture; state: string }): Promise<Child> {
  const proc = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/weld'), 'server', '--listen', '127.0.0.1:0', '--state', o.state, '--store', path.join(o.fx.tmp, 'store'), '--mirrors', path.join(o.fx.tmp, 'mirrors'), '--runner', 'local', '--drain-timeout', '30'], {
    cwd: o.fx.repo,
    env: { ...process.env, WELD_ALLOW_PATHS: o.fx.releases },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${err}`)), 30_000);
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /"msg":"listening","url":"([^"]+)"/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1]!, stderr: () => err, exited });
      }
    });
    proc.on('exit', (code) => reject(new Error(`the server exited with ${code}:\n${err}`)));
  });
}

describe('the build service across kill -9', () => {
  let fx: ServiceFixture;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    if (!existsSync(path.join(REPO_ROOT, 'dist/src/service/server.js'))) throw new Error('dist/src/service/server.js is missing: run `npx tsc -p tsconfig.json` (npm test does) before this test');
    fx = await serviceFixture({ slowLines: 60, slowPause: 0.1 });
  }, 120_000);
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    return fx.cleanup();
  });

  it('resumes the job after a restart: done, no record twice, the log goes on', { timeout: 180_000 }, async () => {
    const state = path.join(fx.tmp, 'state');
    const first = await startChild({ fx, state });
    children.push(first.proc);
    const r = await submit({ url: first.url, body: { repository: fx.repo, ref: 'main', packages: ['beta', 'slow'], jobs: 2 } });
    expect(r.status).toBe(201);
    const id = r.body['id'] as string;
    // mid-build: alpha and beta are done, slow has written some lines
    for (;;) {
      const log = await (await fetch(`${first.url}/api/v1/jobs/${id}/packages/slow/log`)).text();
      const job = (await (await fetch(`${first.url}/api/v1/jobs/${id}`)).json()) as { packageStates: Record<string, { state: string }> };
      if (log.includes('line 5') && job.packageStates['beta']!.state === 'built') break;
      await new Promise((res) => setTimeout(res, 50));
    }
    first.proc.kill('SIGKILL');
    expect(await first.exited).toBe(null);
    const before = await (async () => {
      // read what the store holds now (the server is gone)
      const s = await openStore({ path: path.join(fx.tmp, 'store'), create: false });
      if (!s.ok) throw s.error;
      return s.value;
    })();
    const slowBefore = await before.buildsOf('slow');
    expect(slowBefore.ok && slowBefore.value).toEqual([]);

    const second = await startChild({ fx, state });
    children.push(second.proc);
    const job = await waitForState({ url: second.url, id, states: ['ready', 'failed'], timeoutMs: 120_000 });
    expect(job['state'], JSON.stringify(job['transitions'])).toBe('ready');
    const transitions = (job['transitions'] as Array<{ state: string; reason: string }>).map((t) => t.state);
    expect(transitions).toEqual(['init', 'wait', 'build', 'wait', 'build', 'done', 'ready']);
    expect((job['transitions'] as Array<{ reason: string }>)[3]!.reason).toMatch(/restarted while it was building/);
    const states = job['packageStates'] as Record<string, { state: string; key: string }>;
    expect(states['alpha']!.state).toBe('cached');
    expect(states['beta']!.state).toBe('cached');
    expect(states['slow']!.state).toBe('built');

    // one record per package: nothing was written twice
    for (const pkg of ['alpha', 'beta', 'slow']) {
      const b = await before.buildsOf(pkg);
      expect(b.ok && b.value, pkg).toEqual([states[pkg]!.key]);
    }
    // the log goes on: the lines before the kill, the restart, the whole rebuild
    const log = await (await fetch(`${second.url}/api/v1/jobs/${id}/log`)).text();
    const marker = log.indexOf('the server restarted');
    expect(marker).toBeGreaterThan(log.indexOf('[slow] line 5'));
    expect(log.indexOf('[slow] line 60', marker)).toBeGreaterThan(marker);
    // the job is not listed twice
    const list = (await (await fetch(`${second.url}/api/v1/jobs`)).json()) as { total: number };
    expect(list.total).toBe(1);

    // SIGTERM drains and exits 0
    second.proc.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(second.stderr()).toMatch(/"msg":"stopped"/);
  });
});
