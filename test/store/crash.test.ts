import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { CHILD, requireCompiled, tempDir } from '../helpers/store-temp.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  requireCompiled();
  ({ dir, cleanup } = await tempDir('weld-crash-'));
});
afterAll(() => cleanup());

/** Starts a writer, lets it run for a random while (at least until its first line or the deadline), then SIGKILLs it. */
function runAndKill(storePath: string, seed: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, 'crash', storePath, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const wait = 150 + Math.floor(Math.random() * 450);
    const timer = setTimeout(() => child.kill('SIGKILL'), wait);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`child exited on its own (${code}): ${stderr}`));
    });
  });
}

it('survives 50 SIGKILLs while putting blobs and writing records', { timeout: 180_000 }, async () => {
  const storePath = path.join(dir, 'store');
  for (let i = 0; i < 50; i++) await runAndKill(storePath, i * 1000);
  const opened = await openStore({ path: storePath, create: false });
  if (!opened.ok) throw opened.error;
  const store = opened.value;
  expect(await readdir(path.join(storePath, 'tmp'))).toEqual([]);
  const v = await store.verify();
  if (!v.ok) throw v.error;
  expect(v.value.corrupt).toEqual([]);
  expect(v.value.missing).toEqual([]);
  expect(v.value.strays).toEqual([]);
  expect(v.value.undecodable).toEqual([]);
  expect(v.value.ok).toBe(true);
  const records = await store.listRecords();
  // The kills must have let real work through, or this test proves nothing.
  expect(records.ok && records.value.length).toBeGreaterThan(10);
});
