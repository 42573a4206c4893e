import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { download } from '../../src/mirror/download.js';
import { openStore, type Store } from '../../src/store/store.js';

// Downloads against a real server on loopback that misbehaves on purpose.
describe('download', () => {
  let dir: string;
  let store: Store;
  let server: http.Server;
  let base: string;
  const body = Buffer.from('x'.repeat(100_000));
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}` as const;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'weld-download-'));
    const s = await openStore({ path: path.join(dir, 'store') });
    if (!s.ok) throw s.error;
    store = s.value;
    server = http.createServer((req, res) => {
      if (req.url === '/ok') return void res.end(body);
      if (req.url === '/stall-body') {
        res.writeHead(200, { 'content-length': String(body.length) });
        res.write(body.subarray(0, 1000)); // then silence
        return;
      }
      if (req.url === '/stall-head') return; // never answers
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores a verified download once; the second time needs no request', async () => {
    const first = await download({ url: `${base}/ok`, expected: digest, store });
    expect(first.ok && first.value).toEqual({ digest, downloaded: true });
    const again = await download({ url: `${base}/gone`, expected: digest, store });
    expect(again.ok && again.value.downloaded).toBe(false);
  });

  it('gives up on a server that stops sending, and stores nothing', async () => {
    const other = `sha256:${'1'.repeat(64)}` as const;
    for (const p of ['/stall-body', '/stall-head']) {
      const t0 = Date.now();
      const r = await download({ url: `${base}${p}`, expected: other, store, idleMs: 300 });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.message).toMatch(new RegExp(`^cannot fetch ${base}${p}: .*stalled: no data for 300 ms`));
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(await store.has(other)).toBe(false);
    }
  });

  it('names the HTTP status of a missing file', async () => {
    const r = await download({ url: `${base}/missing`, expected: `sha256:${'2'.repeat(64)}`, store });
    expect(!r.ok && r.error.message).toBe(`cannot fetch ${base}/missing: HTTP 404 Not Found`);
  });
});
