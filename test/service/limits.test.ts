import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service/server.js';
import { serviceFixture, submit, waitForState, type ServiceFixture } from './fixture.js';

// The server's bounds: a job's log keeps max_log_lines lines and says it dropped the rest;
// SSE streams beyond max_streams get 503 (each holds a socket and a listener).

describe('the build service: limits', () => {
  let fx: ServiceFixture;
  let server: RunningService;
  beforeAll(async () => {
    fx = await serviceFixture({ slowLines: 40, slowPause: 0.05 });
    server = await fx.start({ config: { maxLogLines: 10, maxStreams: 1 } });
  }, 120_000);
  afterAll(() => fx.cleanup());

  it('drops log lines past the limit, saying so, and refuses a stream past the limit', { timeout: 60_000 }, async () => {
    const r = await submit({ url: server.url, body: { repository: fx.repo, ref: 'main', packages: ['slow'] } });
    const id = r.body['id'] as string;
    const ac = new AbortController();
    const first = await fetch(`${server.url}/api/v1/events`, { headers: { accept: 'text/event-stream' }, signal: ac.signal });
    expect(first.status).toBe(200);
    const second = await fetch(`${server.url}/api/v1/jobs/${id}/log`, { headers: { accept: 'text/event-stream' } });
    expect(second.status).toBe(503);
    expect(((await second.json()) as { error: { code: string } }).error.code).toBe('E_TOO_MANY_STREAMS');
    ac.abort();
    await first.body?.cancel().catch(() => {});
    const job = await waitForState({ url: server.url, id, states: ['ready', 'failed'] });
    expect(job['state']).toBe('ready');
    expect(job['logLines']).toBe(11);
    const lines = (await (await fetch(`${server.url}/api/v1/jobs/${id}/log`)).text()).trimEnd().split('\n');
    expect(lines).toHaveLength(11);
    expect(lines[10]).toBe('--- the log has reached 10 lines: later lines are dropped (max_log_lines) ---');
    // the closed stream gave its place back
    await new Promise((res) => setTimeout(res, 100));
    const again = await fetch(`${server.url}/api/v1/jobs/${id}/log`, { headers: { accept: 'text/event-stream' } });
    expect(again.status).toBe(200);
    expect(await again.text()).toContain('event: end');
  });
});
