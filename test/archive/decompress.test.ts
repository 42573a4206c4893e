import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { decompressBuffer } from '../../src/archive/decompress.js';
import { openCompressed, type Compression } from '../../src/archive/decompress-stream.js';
import { DecompressError } from '../../src/archive/errors.js';

// Committed fixtures (test/fixtures/archive/README.md), so these run the same on a host
// without xz, bzip2 or zstd installed.
const FIX = path.join(import.meta.dirname, '../fixtures/archive');
const plain = readFileSync(path.join(FIX, 'pkg.tar'));
const fixture = (ext: string) => readFileSync(path.join(FIX, `pkg.tar.${ext}`));
const scratch = () => path.join(os.tmpdir(), `weld-decompress-${process.pid}-${Math.random().toString(16).slice(2)}`);

async function drain(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of chunks) out.push(c);
  return Buffer.concat(out);
}

describe('decompressBuffer', () => {
  it.each([
    ['gz', 'gzip'],
    ['xz', 'xz'],
    ['bz2', 'bzip2'],
    ['zst', 'zstd'],
  ] as Array<[string, Compression]>)('%s gives back exactly the tar', async (ext, compression) => {
    const r = await decompressBuffer({ data: fixture(ext), compression, scratch: scratch(), for: `pkg.tar.${ext}` });
    expect(r.ok && r.value.equals(plain)).toBe(true);
  });

  it.each([
    ['gz', 'gzip'],
    ['xz', 'xz'],
    ['bz2', 'bzip2'],
  ] as Array<[string, Compression]>)('truncated %s is a DecompressError value, not a throw', async (ext, compression) => {
    const data = fixture(ext).subarray(0, 100);
    const r = await decompressBuffer({ data, compression, scratch: scratch(), for: 'x' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toBeInstanceOf(DecompressError);
    expect(r.error.code).toBe('E_DECOMPRESS');
    expect(r.error.message).toMatch(new RegExp(`^the ${compression} data does not decompress: .+`));
  });
});

describe('decompressBuffer through the helper shells', () => {
  it('gives every one of many calls at once its own bytes, and leaves no scratch file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'weld-helpers-'));
    try {
      const jobs = Array.from({ length: 12 }, (_, i) => (i % 2 ? ['xz', 'xz'] : ['zst', 'zstd']) as [string, Compression]);
      const results = await Promise.all(jobs.map(([ext, compression], i) => decompressBuffer({ data: fixture(ext), compression, scratch: path.join(dir, `job-${i}`), for: 'x' })));
      for (const r of results) expect(r.ok && r.value.equals(plain)).toBe(true);
      expect(readdirSync(dir)).toEqual([]);
      // a failure in the middle: that call gets it, the helpers go on serving the others
      const mixed = await Promise.all([fixture('xz'), fixture('xz').subarray(0, 100), fixture('xz')].map((data, i) => decompressBuffer({ data, compression: 'xz', scratch: path.join(dir, `mixed-${i}`), for: 'x' })));
      expect(mixed.map((r) => r.ok)).toEqual([true, false, true]);
      expect(!mixed[1]!.ok && mixed[1]!.error.message).toMatch(/^the xz data does not decompress: xz -dc failed \(exit 1\): .+/);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('openCompressed (streaming, sniffed by magic bytes)', () => {
  it.each([
    ['gz', 'gzip'],
    ['xz', 'xz'],
    ['bz2', 'bzip2'],
  ])('%s is recognised and streams back exactly the tar', async (ext, compression) => {
    const opened = await openCompressed(Readable.from([fixture(ext)]));
    expect(opened.kind === 'ok' && opened.compression).toBe(compression);
    if (opened.kind !== 'ok') return;
    expect((await drain(opened.chunks)).equals(plain)).toBe(true);
  });

  it('says zstd is not streamed rather than misreading it', async () => {
    expect(await openCompressed(Readable.from([fixture('zst')]))).toEqual({ kind: 'unsupported', format: 'zstd' });
  });

  it('rejects the iteration of damaged xz with a DecompressError', async () => {
    const opened = await openCompressed(Readable.from([fixture('xz').subarray(0, 200)]));
    if (opened.kind !== 'ok') throw new Error(`expected ok, got ${opened.kind}`);
    await expect(drain(opened.chunks)).rejects.toMatchObject({ code: 'E_DECOMPRESS', compression: 'xz' });
  });
});
