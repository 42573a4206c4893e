import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service/server.js';
import { git } from '../helpers/git.js';
import { serviceFixture, submit, waitForState, type ServiceFixture } from './fixture.js';

// A job mirrors its packages into the server's mirrors before it builds. At a commit
// without weld.lock the first job imports the sources; a later job at the same commit
// finds them mirrored from the same inputs and imports nothing.

describe('the build service: mirrors', () => {
  let fx: ServiceFixture;
  let server: RunningService;
  beforeAll(async () => {
    fx = await serviceFixture();
    git(fx.repo, 'checkout', '-q', '-b', 'nolock');
    git(fx.repo, 'rm', '-q', 'metadata/weld.lock');
    git(fx.repo, 'commit', '-q', '-m', 'no lock');
    git(fx.repo, 'checkout', '-q', 'main');
    server = await fx.start();
  }, 120_000);
  afterAll(() => fx.cleanup());

  it('imports the sources once per commit, then finds them mirrored', { timeout: 120_000 }, async () => {
    const mirrorLines = async (id: string) => (await (await fetch(`${server.url}/api/v1/jobs/${id}/log`)).text()).split('\n').filter((l) => / mirror: /.test(l));
    const a = await submit({ url: server.url, body: { repository: fx.repo, ref: 'nolock', packages: ['beta'] } });
    expect(a.status).toBe(201);
    const ja = await waitForState({ url: server.url, id: a.body['id'] as string, states: ['ready', 'failed'] });
    expect(ja['state'], JSON.stringify(ja['packageStates'])).toBe('ready');
    const first = await mirrorLines(ja['id'] as string);
    expect(first.some((l) => l.startsWith('[alpha] mirror: '))).toBe(true);
    expect(first.some((l) => l.startsWith('[beta] mirror: '))).toBe(true);
    const b = await submit({ url: server.url, body: { repository: fx.repo, ref: 'nolock', packages: ['beta'], jobs: 1 } });
    const jb = await waitForState({ url: server.url, id: b.body['id'] as string, states: ['ready', 'failed'] });
    expect(jb['state']).toBe('ready');
    expect(await mirrorLines(jb['id'] as string)).toEqual([]);
    expect(Object.values(jb['packageStates'] as Record<string, { state: string }>).map((p) => p.state)).toEqual(['cached', 'cached']);
  });
});
