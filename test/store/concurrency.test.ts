import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { CHILD, requireCompiled, tempDir } from '../helpers/store-temp.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(() => requireCompiled());
beforeEach(async () => ({ dir, cleanup } = await tempDir('weld-conc-')));
afterEach(() => cleanup());

function child(args: string[]): { done: Promise<{ code: number | null; stdout: string; stderr: string }>; proc: ReturnType<typeof spawn> } {
  const proc = spawn(process.execPath, [CHILD, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d) => (stdout += d));
  proc.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => proc.on('exit', (code) => resolve({ code, stdout, stderr })));
  return { done, proc };
}

it('two processes putting overlapping content and records at once both succeed', async () => {
  const storePath = path.join(dir, 'store');
  const a = child(['writer', storePath, 'alpha', '40']);
  const b = child(['writer', storePath, 'beta', '40']);
  const [ra, rb] = await Promise.all([a.done, b.done]);
  expect(ra).toMatchObject({ code: 0, stdout: 'done\n' });
  expect(rb).toMatchObject({ code: 0, stdout: 'done\n' });
  const opened = await openStore({ path: storePath, create: false });
  if (!opened.ok) throw opened.error;
  const v = await opened.value.verify();
  expect(v.ok && v.value.ok).toBe(true);
  // 40 shared blobs + 40 own blobs per writer.
  expect(v.ok && v.value.blobs).toBe(120);
  const records = await opened.value.listRecords({ kind: 'build' });
  // 40 shared records (the same key from both) + 40 per writer.
  expect(records.ok && records.value.length).toBe(120);
});

it('a process that finds the index held says by whom, waits, and gives up with E_STORE_BUSY', async () => {
  const storePath = path.join(dir, 'store');
  const holder = child(['hold', storePath]);
  await new Promise<void>((resolve) => holder.proc.stdout!.on('data', (d: Buffer) => d.toString().includes('holding') && resolve()));
  const heard: string[] = [];
  const opened = await openStore({ path: storePath, lockTimeoutMs: 600, onWait: (h) => heard.push(h) });
  if (!opened.ok) throw opened.error;
  const r = await opened.value.buildsOf('x');
  expect(!r.ok && r.error.code).toBe('E_STORE_BUSY');
  expect(!r.ok && r.error.message).toMatch(new RegExp(`in use by pid ${holder.proc.pid} \\(holding for a test, since .*\\); gave up after 0\\.[6-9] s`));
  expect(heard[0]).toMatch(new RegExp(`^pid ${holder.proc.pid} `));
  // Once the holder lets go, the waiter gets in.
  const waiting = openStore({ path: storePath, lockTimeoutMs: 30_000 }).then((s) => (s.ok ? s.value.buildsOf('x') : s));
  holder.proc.stdin!.end();
  expect(await waiting).toEqual({ ok: true, value: [] });
  expect((await holder.done).code).toBe(0);
});
