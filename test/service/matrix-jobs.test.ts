import { cpSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service/server.js';
import { git } from '../helpers/git.js';
import { REPO_ROOT } from '../helpers/project.js';
import { serviceFixture, submit, waitForState, type ServiceFixture } from './fixture.js';

// A job on a distro with two targets (a real server on 127.0.0.1, the local runner): its
// package states are keyed <package>@<target>, `targets` narrows it, an unknown target is
// a 400, and its wheelhouse holds each wheel file once.

describe('the build service: jobs over targets', () => {
  let fx: ServiceFixture;
  let server: RunningService;
  beforeAll(async () => {
    fx = await serviceFixture();
    cpSync(path.join(REPO_ROOT, 'test/fixtures/matrix/metadata/envs'), path.join(fx.repo, 'metadata/envs'), { recursive: true });
    writeFileSync(
      path.join(fx.repo, 'metadata/weld.toml'),
      '[distro]\nname = "t"\n\n[[target]]\nname = "z"\nenv = "bookworm-s390x"\n\n[[target]]\nname = "p"\narch = "ppc64el"\nenv = "bookworm-ppc64el"\n\n[sources]\nallow_paths = ["../releases"]\n',
    );
    git(fx.repo, 'add', '-A');
    git(fx.repo, 'commit', '-q', '-m', 'two targets');
    server = await fx.start();
  }, 120_000);
  afterAll(() => fx.cleanup());

  it('builds every package per target, keyed <package>@<target>, and composes one wheelhouse', { timeout: 120_000 }, async () => {
    const r = await submit({ url: server.url, body: { repository: fx.repo, ref: 'main', packages: ['beta'], composes: ['good'] } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const id = r.body['id'] as string;
    const job = await waitForState({ url: server.url, id, states: ['ready', 'failed'] });
    expect(job['state'], JSON.stringify(job['transitions'])).toBe('ready');
    const states = job['packageStates'] as Record<string, { state: string }>;
    expect(Object.keys(states).sort()).toEqual(['alpha@p', 'alpha@z', 'beta@p', 'beta@z']);
    expect(Object.values(states).every((s) => s.state === 'built' || s.state === 'cached')).toBe(true);
    expect(job['requires']).toEqual({ 'alpha@z': [], 'beta@z': ['alpha@z'], 'alpha@p': [], 'beta@p': ['alpha@p'] });
    const one = await fetch(`${server.url}/api/v1/jobs/${id}/packages/${encodeURIComponent('beta@p')}`);
    expect(one.status).toBe(200);
    const composed = job['composed'] as Record<string, { dir: string }>;
    expect(readdirSync(path.join(composed['good']!.dir, 'wheels')).filter((f) => f.endsWith('.whl')).sort()).toEqual(['alpha-1.0-py3-none-any.whl', 'beta-1.0-py3-none-any.whl']);
  });

  it('narrows a job to the targets it names, and refuses one the metadata lacks', { timeout: 120_000 }, async () => {
    const r = await submit({ url: server.url, body: { repository: fx.repo, ref: 'main', packages: ['alpha'], targets: ['p'] } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const job = await waitForState({ url: server.url, id: r.body['id'] as string, states: ['done', 'ready', 'failed'] });
    expect(Object.keys(job['packageStates'] as object)).toEqual(['alpha@p']);
    const bad = await submit({ url: server.url, body: { repository: fx.repo, ref: 'main', packages: ['alpha'], targets: ['q'] } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/no target \\"q\\".*targets: z, p/);
  });
});
