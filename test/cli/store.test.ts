import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { weld } from '../helpers/project.js';

// `weld store …` as a user types it: text and JSON output, exit codes, bad input.
describe('weld store', () => {
  let dir: string;
  const store = () => ['--store', path.join(dir, 'store')];
  const run = (...argv: string[]) => weld(['store', ...argv, ...store()], { cwd: dir });

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'weld-store-cli-'));
    writeFileSync(path.join(dir, 'hello.txt'), 'hello\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const HELLO = 'sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03';

  it('puts, lists, cats and describes blobs', async () => {
    expect(await run('put', path.join(dir, 'hello.txt'))).toEqual({ code: 0, stdout: `${HELLO}  ${path.join(dir, 'hello.txt')}\n`, stderr: '' });
    expect((await run('ls')).stdout).toBe(`${HELLO}  6\n`);
    expect((await run('cat', HELLO.slice(7))).stdout).toBe('hello\n');
    const info = JSON.parse((await run('info', '--json')).stdout);
    expect(info).toMatchObject({ path: path.join(dir, 'store'), from: '--store', blobs: 1, bytes: 6 });
  });

  it('refuses a file whose digest is not the expected one, storing nothing', async () => {
    const r = await run('put', path.join(dir, 'hello.txt'), '--expected', '0'.repeat(64));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`expected sha256:${'0'.repeat(64)} but the content is ${HELLO}; nothing was stored`);
    expect((await run('ls')).stdout).toBe('');
  });

  it('names bad digests, missing blobs and files, and unknown sub-verbs', async () => {
    await run('put', path.join(dir, 'hello.txt'));
    const bad = await run('cat', 'abc');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('weld: error: weld store cat: "abc" is not a digest\nweld: hint: a digest is sha256: followed by 64 lowercase hex characters, e.g. sha256:e3b0c442…b855\n');
    const missing = await run('cat', '1'.repeat(64));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('1'.repeat(64));
    const nofile = await run('put', path.join(dir, 'nope.txt'));
    expect(nofile.code).toBe(1);
    expect(nofile.stderr).toContain(path.join(dir, 'nope.txt'));
    const sub = await run('verfy');
    expect(sub.code).toBe(2);
    expect(sub.stderr).toContain('unknown sub-verb "verfy"; did you mean "verify"?');
  });

  it('says when the store path is a file', async () => {
    writeFileSync(path.join(dir, 'store'), 'not a directory');
    const r = await run('info');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(path.join(dir, 'store'));
  });

  it('verify finds a damaged blob (exit 1), --repair fixes it, then it is clean', async () => {
    await run('put', path.join(dir, 'hello.txt'));
    const blob = path.join(dir, 'store/blobs/sha256', HELLO.slice(7, 9), HELLO.slice(9));
    truncateSync(blob, 2);
    const found = await run('verify');
    expect(found.code).toBe(1);
    expect(found.stdout + found.stderr).toContain(HELLO);
    expect((await run('verify', '--repair')).code).toBe(0);
    expect((await run('verify')).code).toBe(0);
    expect((await run('ls')).stdout).toBe('');
  });

  it('gc --dry-run reports without removing; gc --grace 0 removes unreferenced blobs', async () => {
    await run('put', path.join(dir, 'hello.txt'));
    const dry = JSON.parse((await run('gc', '--dry-run', '--grace', '0', '--json')).stdout);
    expect(dry).toMatchObject({ dryRun: true });
    expect((await run('ls')).stdout).toBe(`${HELLO}  6\n`);
    expect((await run('gc', '--grace', '0')).code).toBe(0);
    expect((await run('ls')).stdout).toBe('');
  });
});
