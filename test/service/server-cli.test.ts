import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { weld } from '../helpers/project.js';

// `weld server token add|ls|revoke` and what `weld server` refuses before it listens.

describe('weld server (the verb)', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'weld-server-cli-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const state = path.join(tmp, 'state');
  const server = (argv: string[]) => weld(['server', ...argv], { cwd: tmp, env: {} });

  it('adds a token, printing its secret once; lists without secrets; revokes', async () => {
    const add = await server(['token', 'add', 'ci', '--role', 'submit', '--state', state]);
    expect(add.code, add.stderr).toBe(0);
    const secret = add.stdout.trim();
    expect(secret).toMatch(/^weld_[A-Za-z0-9_-]{43}$/);
    expect(add.stderr).toContain('the secret above is shown once');
    expect(readFileSync(path.join(state, 'tokens.json'), 'utf8')).not.toContain(secret);
    const ls = await server(['token', 'ls', '--state', state]);
    expect(ls.stdout).toMatch(/^ci {19}submit {2}created \d{4}-/);
    expect(ls.stdout).not.toContain(secret);
    const json = await server(['token', 'ls', '--state', state, '--json']);
    expect(JSON.parse(json.stdout)).toEqual([{ name: 'ci', role: 'submit', createdAt: expect.any(Number) }]);
    const again = await server(['token', 'add', 'ci', '--role', 'admin', '--state', state]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('a token named "ci" exists already');
    const badRole = await server(['token', 'add', 'x', '--role', 'root', '--state', state]);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain('role "root" is not one of submit, admin');
    const badName = await server(['token', 'add', '../x', '--role', 'admin', '--state', state]);
    expect(badName.code).toBe(2);
    const revoke = await server(['token', 'revoke', 'ci', '--state', state]);
    expect(revoke.stdout).toBe('token "ci" revoked\n');
    expect((await server(['token', 'ls', '--state', state])).stdout).toContain('REVOKED');
    expect((await server(['token', 'revoke', 'nobody', '--state', state])).code).toBe(2);
    expect((await server(['token', 'frobnicate', '--state', state])).code).toBe(2);
  });

  it('refuses a bad listen address, a bad config file, and non-loopback without tokens', async () => {
    const bad = await server(['--listen', 'nowhere', '--state', path.join(tmp, 's1')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--listen nowhere is not host:port');
    const cfg = path.join(tmp, 'server.toml');
    writeFileSync(cfg, 'lissen = "127.0.0.1:1"\n');
    const badCfg = await server(['--config', cfg]);
    expect(badCfg.code).toBe(1);
    expect(badCfg.stderr).toContain(`${cfg}: unknown key "lissen"`);
    const open = await server(['--listen', '0.0.0.0:0', '--state', path.join(tmp, 's2'), '--runner', 'local']);
    expect(open.code).toBe(1);
    expect(open.stderr).toContain('weld server will not listen on 0.0.0.0 without API tokens');
    const runner = await server(['--runner', 'podmn', '--state', path.join(tmp, 's3')]);
    expect(runner.code).toBe(2);
    expect(runner.stderr).toContain('did you mean "podman"?');
  });
});
