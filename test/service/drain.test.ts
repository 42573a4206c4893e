import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceFixture, submit, waitForState, type ServiceFixture } from './fixture.js';

// SIGTERM's drain: no new jobs (503), running builds get the timeout, then are stopped
// with nothing recorded; the job stays `build` and the next start resumes it to ready.

describe('the build service: drain and resume', () => {
  let fx: ServiceFixture;
  beforeAll(async () => {
    fx = await serviceFixture({ slowLines: 100, slowPause: 0.05 });
  }, 120_000);
  afterAll(() => fx.cleanup());

  it('stops a build that outlives the drain timeout, and the next start finishes the job', { timeout: 120_000 }, async () => {
    const state = path.join(fx.tmp, 'state');
    const first = await fx.start({ stateDir: state });
    const r = await submit({ url: first.url, body: { repository: fx.repo, ref: 'main', packages: ['slow'] } });
    const id = r.body['id'] as string;
    for (;;) {
      if ((await (await fetch(`${first.url}/api/v1/jobs/${id}/packages/slow/log`)).text()).includes('line 3')) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    const draining = first.drain(200);
    expect((await fetch(`${first.url}/healthz`)).status).toBe(503);
    const refused = await submit({ url: first.url, body: { repository: fx.repo, ref: 'main', packages: ['alpha'] } });
    expect(refused.status).toBe(503);
    expect((refused.body['error'] as { code: string }).code).toBe('E_DRAINING');
    await draining;
    const stopped = (await (await fetch(`${first.url}/api/v1/jobs/${id}`)).json()) as { state: string; packageStates: Record<string, { state: string }> };
    expect(stopped.state).toBe('build');
    await first.close();

    const second = await fx.start({ stateDir: state });
    const job = await waitForState({ url: second.url, id, states: ['ready', 'failed'] });
    expect(job['state']).toBe('ready');
    expect((job['transitions'] as Array<{ state: string }>).map((t) => t.state)).toEqual(['init', 'wait', 'build', 'wait', 'build', 'done', 'ready']);
    const log = await (await fetch(`${second.url}/api/v1/jobs/${id}/log`)).text();
    expect(log).toContain('this job resumes at its next start');
    expect(log.indexOf('[slow] line 100')).toBeGreaterThan(log.indexOf('the server restarted'));
  });

  it('writes the composes of a job the server left done (stopped between done and ready)', { timeout: 120_000 }, async () => {
    const state = path.join(fx.tmp, 'state-compose');
    const first = await fx.start({ stateDir: state });
    const r = await submit({ url: first.url, body: { repository: fx.repo, ref: 'main', packages: ['alpha'], composes: ['good'] } });
    const id = r.body['id'] as string;
    await waitForState({ url: first.url, id, states: ['ready'] });
    await first.close();
    // what a crash after `done`, before the wheelhouse was written, leaves in the job store
    const { JobStore } = await import('../../src/service/job-store.js');
    const js = await JobStore.open({ stateDir: state });
    if (!js.ok) throw js.error;
    const job = js.value.get(id)!;
    job.transitions.pop();
    job.state = 'done';
    job.composed = {};
    js.value.save(job);
    await js.value.close();

    const second = await fx.start({ stateDir: state });
    const ready = await waitForState({ url: second.url, id, states: ['ready', 'failed'] });
    expect(ready['state']).toBe('ready');
    expect((ready['transitions'] as Array<{ state: string }>).map((t) => t.state)).toEqual(['init', 'wait', 'build', 'done', 'ready']);
    expect((ready['composed'] as Record<string, { wheels: number }>)['good']!.wheels).toBe(2);
    const index = await fetch(`${second.url}/wheelhouses/${id}/good/simple/`);
    expect(index.status).toBe(200);
  });
});
