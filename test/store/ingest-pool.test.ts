import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blobPath } from '../../src/store/layout.js';
import { ingestInWorkers, workerFile } from '../../src/store/ingest-pool.js';
import type { Store } from '../../src/store/store.js';
import { freshStore, tempDir } from '../helpers/store-temp.js';
import { rng as seeded } from '../helpers/rng.js';

// Bulk ingest on worker threads: the files a `weld store put` of a tree takes in. Real
// files, a real store, the compiled worker `npm test` builds first.

let dir: string;
let cleanup: () => Promise<void>;
let store: Store;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('weld-ingest-'));
  store = await freshStore(dir);
});
afterEach(async () => cleanup());

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** `n` files of sizes from 0 bytes to a few MiB (past the worker's 1 MiB read buffer), some with equal bytes. */
async function tree(n: number): Promise<{ files: string[]; bytes: Buffer[] }> {
  const rng = seeded(17);
  const files: string[] = [];
  const bytes: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const size = i === 0 ? 0 : i % 50 === 1 ? (1 << 20) * 2 + 7 : Math.floor(rng() * 200_000);
    // every tenth file repeats the one before it
    const b = i % 10 === 9 ? bytes[i - 1]! : randomBytes(size);
    const f = path.join(dir, 'tree', `d${i % 7}`, `f${i}`);
    await mkdir(path.dirname(f), { recursive: true });
    await writeFile(f, b);
    files.push(f);
    bytes.push(b);
  }
  return { files, bytes };
}

describe('bulk ingest on worker threads', () => {
  it('has a compiled worker to run (npm test builds it)', () => {
    expect(workerFile()).toMatch(/dist\/src\/store\/ingest-worker\.js$/);
  });

  it('puts every file as its blob, in order, equal bytes once, and leaves nothing in tmp/', async () => {
    const { files, bytes } = await tree(120);
    const results = await store.putFiles({ files });
    expect(results.map((r) => r.file)).toEqual(files);
    for (const [i, r] of results.entries()) {
      if (!r.result.ok) throw r.result.error;
      expect(r.result.value.digest).toBe(sha(bytes[i]!));
      expect(r.result.value.size).toBe(bytes[i]!.length);
      // Buffer.equals: a deep toEqual walks 2 MiB byte by byte
      expect((await readFile(blobPath(store.layout, r.result.value.digest))).equals(bytes[i]!)).toBe(true);
    }
    // each repeated content is new once and there already once
    const byDigest = new Map<string, boolean[]>();
    for (const r of results) if (r.result.ok) byDigest.set(r.result.value.digest, [...(byDigest.get(r.result.value.digest) ?? []), r.result.value.existed]);
    for (const flags of byDigest.values()) expect(flags.filter((e) => !e)).toHaveLength(1);
    expect(await readdir(store.layout.tmp)).toEqual([]);
    const report = await store.verify({ contents: true });
    if (!report.ok) throw report.error;
    expect([report.value.corrupt, report.value.strays]).toEqual([[], []]);
  });

  it('reports what cannot be read, by name, and stores the rest', async () => {
    const { files } = await tree(80);
    const missing = path.join(dir, 'tree', 'gone');
    const folder = path.join(dir, 'tree', 'd0');
    const results = await store.putFiles({ files: [missing, ...files, folder] });
    const first = results[0]!.result;
    const last = results.at(-1)!.result;
    expect(!first.ok && first.error.code).toBe('E_STORE_SOURCE');
    expect(!first.ok && first.error.message).toContain(missing);
    expect(!last.ok && last.error.message).toBe(`cannot read ${folder}: it is a directory; nothing was stored`);
    expect(results.slice(1, -1).every((r) => r.result.ok)).toBe(true);
    expect(await readdir(store.layout.tmp)).toEqual([]);
  });

  it('fails a blob whose place cannot be written, with nothing half-placed, and places the others', async () => {
    const { files, bytes } = await tree(70);
    // the fan-out directory of file 5's blob is a plain file: its link cannot be made
    const blocked = blobPath(store.layout, sha(bytes[5]!) as `sha256:${string}`);
    await rm(path.dirname(blocked), { recursive: true, force: true });
    await writeFile(path.dirname(blocked), 'not a directory');
    const sameFan = new Set(bytes.flatMap((b, i) => (path.dirname(blobPath(store.layout, sha(b) as `sha256:${string}`)) === path.dirname(blocked) ? [i] : [])));
    const results = await store.putFiles({ files, workers: 3 });
    for (const [i, r] of results.entries()) {
      if (sameFan.has(i)) {
        expect(!r.result.ok && r.result.error.code).toBe('E_STORE_IO');
        expect(!r.result.ok && r.result.error.message).toContain(path.dirname(blocked));
      } else expect(r.result.ok).toBe(true);
    }
    expect(await readdir(store.layout.tmp)).toEqual([]);
  });

  it('keeps the stat cache: a second put of an unchanged tree reads nothing', async () => {
    const { files } = await tree(90);
    const old = new Date(Date.now() - 60_000);
    for (const f of files) await utimes(f, old, old);
    // files changed in the last 2 s are never cached
    await new Promise((r) => setTimeout(r, 2100));
    const first = await store.putFiles({ files });
    expect(first.every((r) => !r.cached && r.result.ok)).toBe(true);
    const second = await store.putFiles({ files });
    expect(second.every((r) => r.cached && r.result.ok)).toBe(true);
    expect(second.map((r) => r.result.ok && r.result.value.digest)).toEqual(first.map((r) => r.result.ok && r.result.value.digest));
  });

  it('spreads one ingest over as many workers as asked, each file once', async () => {
    const { files, bytes } = await tree(40);
    const sizes = new Map(bytes.map((b, i) => [i, b.length]));
    const got = await ingestInWorkers({ layout: store.layout, files, indices: files.map((_, i) => i), sizes, workers: 5 });
    expect(got?.size).toBe(files.length);
    for (const [i, r] of got!) expect(r.ok && r.value.digest).toBe(sha(bytes[i]!));
    expect(await readdir(store.layout.tmp)).toEqual([]);
  });
});
