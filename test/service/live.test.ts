import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service/server.js';
import { WeldClient } from '../../src/service/client.js';
import { serviceFixture, submit, waitForState, type ServiceFixture } from './fixture.js';

// Live logs over SSE: a follower joining mid-build gets the whole log, a reconnect with
// Last-Event-ID neither loses nor repeats a line, and the stream ends with the final
// state; /events carries every job and package state change; a cancel mid-build stops it.

type Msg = { id?: string; event: string; data: string };

describe('the build service: live logs and events', () => {
  let fx: ServiceFixture;
  let server: RunningService;
  let client: WeldClient;
  beforeAll(async () => {
    fx = await serviceFixture({ slowLines: 30, slowPause: 0.05 });
    server = await fx.start();
    client = new WeldClient({ server: server.url });
  }, 120_000);
  afterAll(() => fx.cleanup());

  it('gives a follower who joins mid-build the whole log; a reconnect with Last-Event-ID loses and repeats nothing', { timeout: 60_000 }, async () => {
    const events: Msg[] = [];
    const ac = new AbortController();
    const all = client.stream({ path: '/api/v1/events', signal: ac.signal, onEvent: (m) => events.push(m) });
    await new Promise((r) => setTimeout(r, 100));
    const r = await submit({ url: server.url, body: { repository: fx.repo, ref: 'main', packages: ['slow'] } });
    const id = r.body['id'] as string;
    // join once the build is under way
    for (;;) {
      const t = await (await fetch(`${server.url}/api/v1/jobs/${id}/packages/slow/log`)).text();
      if (t.includes('line 3')) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    const first: Msg[] = [];
    const ac1 = new AbortController();
    const s1 = client.stream({
      path: `/api/v1/jobs/${id}/log`,
      signal: ac1.signal,
      onEvent: (m) => {
        first.push(m);
        if (first.filter((x) => x.event === 'log' && x.data.includes('"line 10"')).length) ac1.abort();
      },
    });
    await s1;
    const logs1 = first.filter((m) => m.event === 'log');
    // from the very first line of the job, in order, ids = sequence numbers
    expect(logs1.map((m) => Number(m.id))).toEqual(logs1.map((_, i) => i));
    expect(logs1.some((m) => m.data.includes('"line 1"'))).toBe(true);
    const lastId = Number(logs1.at(-1)!.id);

    const second: Msg[] = [];
    const s2 = await client.stream({ path: `/api/v1/jobs/${id}/log`, lastEventId: lastId, onEvent: (m) => second.push(m) });
    expect(s2.ok).toBe(true);
    const logs2 = second.filter((m) => m.event === 'log');
    expect(Number(logs2[0]!.id)).toBe(lastId + 1);
    expect(logs2.map((m) => Number(m.id))).toEqual(logs2.map((_, i) => lastId + 1 + i));
    // the stream ends with the final state
    expect(second.at(-1)!.event).toBe('end');
    expect(JSON.parse(second.at(-1)!.data)).toMatchObject({ job: id, state: 'ready' });
    // together: exactly the stored log
    const text = (await (await fetch(`${server.url}/api/v1/jobs/${id}/log`)).text()).trimEnd().split('\n');
    const joined = [...logs1, ...logs2].map((m) => JSON.parse(m.data) as { package?: string; text: string }).map((l) => (l.package ? `[${l.package}] ${l.text}` : l.text));
    expect(joined).toEqual(text);
    const slowLines = joined.filter((l) => /^\[slow\] line \d+$/.test(l));
    expect(slowLines).toEqual(Array.from({ length: 30 }, (_, i) => `[slow] line ${i + 1}`));

    // a finished job's stream is the whole log and the end, at once
    const late: Msg[] = [];
    await client.stream({ path: `/api/v1/jobs/${id}/packages/slow/log`, onEvent: (m) => late.push(m) });
    expect(late.filter((m) => m.event === 'log').map((m) => (JSON.parse(m.data) as { text: string }).text).filter((t) => t.startsWith('line '))).toHaveLength(30);
    expect(JSON.parse(late.at(-1)!.data)).toMatchObject({ package: 'slow', packageState: 'built' });

    // /events saw the job's states in order and the package's
    ac.abort();
    await all;
    const mine = events.map((m) => JSON.parse(m.data) as { type: string; job: string; state: string; package?: string }).filter((e) => e.job === id);
    expect(mine.filter((e) => e.type === 'job').map((e) => e.state)).toEqual(['wait', 'build', 'done', 'ready']);
    expect(mine.filter((e) => e.type === 'package' && e.package === 'slow').map((e) => e.state)).toEqual(['building', 'built']);
  });

  it('stops a build when its job is canceled: the package is canceled, the job failed', { timeout: 60_000 }, async () => {
    // the test above built slow's key: a new commit of its recipe gives it another
    const { writeFileSync, readFileSync } = await import('node:fs');
    const { git } = await import('../helpers/git.js');
    const path = await import('node:path');
    const recipe = path.join(fx.repo, 'recipes/slow.sh');
    writeFileSync(recipe, readFileSync(recipe, 'utf8') + '# another build\n');
    git(fx.repo, 'commit', '-q', '-am', 'touch the slow recipe');
    const c = await submit({ url: server.url, body: { repository: fx.repo, ref: 'main', packages: ['slow'] } });
    const cid = c.body['id'] as string;
    for (;;) {
      const t = await (await fetch(`${server.url}/api/v1/jobs/${cid}/packages/slow/log`)).text();
      if (t.includes('line 2')) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    const cancel = await fetch(`${server.url}/api/v1/jobs/${cid}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(202);
    const job = await waitForState({ url: server.url, id: cid, states: ['ready', 'failed'] });
    expect(job['state']).toBe('failed');
    const slow = (job['packageStates'] as Record<string, { state: string; error: { code: string } }>)['slow']!;
    expect(slow.state).toBe('canceled');
    const log = await (await fetch(`${server.url}/api/v1/jobs/${cid}/packages/slow/log`)).text();
    expect(log).not.toContain('line 30');
    const { openStore } = await import('../../src/store/store.js');
    const store = await openStore({ path: path.join(fx.tmp, 'store'), create: false });
    if (!store.ok) throw store.error;
    const builds = await store.value.buildsOf('slow');
    // only the first commit's build: the canceled one left no record
    expect(builds.ok && builds.value.length).toBe(1);
  });
});
