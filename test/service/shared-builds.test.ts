import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service/server.js';
import { KeyLeases } from '../../src/session/leases.js';
import { openStore } from '../../src/store/store.js';
import { serviceFixture, submit, waitForState, type ServiceFixture } from './fixture.js';

// Two jobs that need the same cache key build it once: the later waits for the earlier
// build and reuses its record, also when both start at the same moment.

describe('build leases', () => {
  it('hand a key to one holder at a time, in order, and forget released keys', async () => {
    const leases = new KeyLeases();
    const order: string[] = [];
    const hold = async (name: string, ms: number) => {
      const release = await leases.acquire('k');
      order.push(`${name}+`);
      await new Promise((r) => setTimeout(r, ms));
      order.push(`${name}-`);
      release();
    };
    await Promise.all([hold('a', 30), hold('b', 10), hold('c', 0)]);
    expect(order).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
    await new Promise((r) => setImmediate(r));
    expect(leases.size).toBe(0);
  });
});

describe('the build service: two jobs sharing a cache key', () => {
  let fx: ServiceFixture;
  let server: RunningService;
  beforeAll(async () => {
    fx = await serviceFixture({ slowLines: 10, slowPause: 0.1 });
    server = await fx.start({ config: { concurrentJobs: 2 } });
  }, 120_000);
  afterAll(() => fx.cleanup());

  it('builds it once: one job builds, the other waits and reuses its record', { timeout: 120_000 }, async () => {
    // Different options (jobs), so not identical jobs; the same package, commit and key.
    const [a, b] = await Promise.all([
      submit({ url: server.url, body: { repository: fx.repo, ref: 'main', packages: ['slow'], jobs: 1 } }),
      submit({ url: server.url, body: { repository: fx.repo, ref: 'main', packages: ['slow'], jobs: 2 } }),
    ]);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    const [ja, jb] = await Promise.all([a, b].map((r) => waitForState({ url: server.url, id: r.body['id'] as string, states: ['ready', 'failed'] })));
    const sa = (ja!['packageStates'] as Record<string, { state: string; key: string }>)['slow']!;
    const sb = (jb!['packageStates'] as Record<string, { state: string; key: string }>)['slow']!;
    expect([sa.state, sb.state].sort()).toEqual(['built', 'cached']);
    expect(sa.key).toBe(sb.key);
    // both ran at once: their build phases overlap
    const at = (j: Record<string, unknown>, s: string) => (j['transitions'] as Array<{ state: string; at: number }>).find((t) => t.state === s)!.at;
    expect(at(ja!, 'build')).toBeLessThan(at(jb!, 'done'));
    expect(at(jb!, 'build')).toBeLessThan(at(ja!, 'done'));
    // the recipe ran once: only the building job's log has its lines
    const logs = await Promise.all([ja, jb].map(async (j) => (await fetch(`${server.url}/api/v1/jobs/${j!['id'] as string}/packages/slow/log`)).text()));
    expect(logs.filter((l) => l.includes('line 10')).length).toBe(1);
    const store = await openStore({ path: path.join(fx.tmp, 'store'), create: false });
    if (!store.ok) throw store.error;
    const builds = await store.value.buildsOf('slow');
    expect(builds.ok && builds.value).toEqual([sa.key]);
  });
});
