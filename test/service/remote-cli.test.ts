import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service/server.js';
import { addToken } from '../../src/service/tokens.js';
import { weld } from '../helpers/project.js';
import { serviceFixture, type ServiceFixture } from './fixture.js';

// `weld remote` against a real server: submit --wait, --follow (the local build's plain
// view), status, list, logs, cancel, the token from WELD_TOKEN or a 0600 credentials file,
// and `wait` exiting 1 for a failed job.

describe('weld remote', () => {
  let fx: ServiceFixture;
  let server: RunningService;
  let secret: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    fx = await serviceFixture({ slowLines: 5, slowPause: 0.02 });
    const t = addToken({ stateDir: path.join(fx.tmp, 'state'), name: 'ci', role: 'submit' });
    if (!t.ok) throw t.error;
    secret = t.value.secret;
    server = await fx.start();
    env = { WELD_SERVER: server.url, WELD_TOKEN: secret, WELD_CREDENTIALS: path.join(fx.tmp, 'none.json') };
  }, 120_000);
  afterAll(() => fx.cleanup());

  const remote = (argv: string[], e: NodeJS.ProcessEnv = env) => weld(['remote', ...argv], { cwd: fx.repo, env: e });

  it('submits from the project (its repository and branch) and waits until ready', { timeout: 60_000 }, async () => {
    const r = await remote(['submit', 'beta', '--compose', 'good', '--wait']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^job [0-9A-Z]{26}: ready\n/);
    expect(r.stdout).toContain(`${fx.repo} main @ ${fx.commit}, submitted by ci`);
    expect(r.stdout).toMatch(/ {2}beta +built/);
    const id = /^job ([0-9A-Z]{26})/.exec(r.stdout)![1]!;
    const status = await remote(['status', id, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ id, state: 'ready', submitter: 'ci' });
    const list = await remote(['list', '--state', 'ready,failed']);
    expect(list.stdout).toContain(`${id}  ready   main@${fx.commit.slice(0, 12)}  ci  composed good`);
    const logs = await remote(['logs', id, '--package', 'alpha']);
    expect(logs.stdout).toContain('copying the wheel');
    const cancel = await remote(['cancel', id]);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toContain(`weld: error: job ${id} is ready; only a waiting or building job can be canceled`);
    const followed = await remote(['logs', id, '-f']);
    expect(followed.stdout).toContain('alpha | copying the wheel');
    expect(followed.stderr).toContain(`job ${id}: ready`);
  });

  it('follows a job with the same lines as a local build', { timeout: 60_000 }, async () => {
    const r = await remote(['submit', 'slow', '--follow']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('slow: building (on the server)');
    expect(r.stdout).toContain('slow | line 5');
    expect(r.stdout).toMatch(/slow: built .* in \d+\.\d s/);
    expect(r.stderr).toMatch(/job [0-9A-Z]{26}: ready: /);
  });

  it('exits 1 when the job failed, with the reason', { timeout: 60_000 }, async () => {
    const r = await remote(['submit', 'after-broken', '--wait', '--json']);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'summary', data: { state: 'failed' } });
    expect(lines[1]).toMatchObject({ error: { code: 'E_JOB_FAILED', message: expect.stringMatching(/failed: broken; skipped: after-broken$/) } });
    const id = (lines[0]!['data'] as { id: string }).id;
    const w = await remote(['wait', id]);
    expect(w.code).toBe(1);
    expect(w.stderr).toContain(`weld: error: job ${id} failed: failed: broken; skipped: after-broken`);
  });

  it('takes the token from a credentials file of mode 0600 only, and says what the server refused', { timeout: 60_000 }, async () => {
    const file = path.join(fx.tmp, 'cred', 'credentials.json');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ servers: { [server.url]: { token: secret } } }));
    chmodSync(file, 0o644);
    const e2 = { WELD_SERVER: server.url, WELD_CREDENTIALS: file };
    const open = await remote(['submit', 'alpha'], e2);
    expect(open.code).toBe(1);
    expect(open.stderr).toContain(`${file} can be read by others (mode 644); it holds secrets`);
    chmodSync(file, 0o600);
    const ok = await remote(['submit', 'alpha'], e2);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^[0-9A-Z]{26}\n$/);
    const none = await remote(['submit', 'alpha'], { WELD_SERVER: server.url, WELD_CREDENTIALS: path.join(fx.tmp, 'nothing.json') });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('weld: error: this call needs a token: send Authorization: Bearer <token>');
    const noServer = await remote(['list'], {});
    expect(noServer.code).toBe(2);
    expect(noServer.stderr).toContain('which server?');
    const badId = await remote(['status', 'nope']);
    expect(badId.code).toBe(1);
    expect(badId.stderr).toMatch(/params\.id must match pattern/);
  });
});
