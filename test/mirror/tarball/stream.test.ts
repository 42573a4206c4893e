import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importTarball } from '../../../src/mirror/tarball/import.js';
import { bareRepo, entry, header, nativeTree, objectStore, streamOf, tar, tempDir } from '../../helpers/tar.js';

// Big entries streamed into the pack: real tarballs generated as streams (never whole
// in memory), imported into real bare repositories, checked by native git (fsck
// --full, cat-file, hash-object, and the tree `git add` writes for the extracted files).

const MiB = 1024 * 1024;
let tmp: ReturnType<typeof tempDir>;

beforeAll(() => (tmp = tempDir('weld-tarball-stream-')));
afterAll(() => tmp.cleanup());

/** Deterministic pseudo-random bytes (AES-CTR over zeros), in 1 MiB chunks. */
async function* noise(size: number, seed: string): AsyncGenerator<Buffer> {
  const key = crypto.createHash('sha256').update(seed).digest().subarray(0, 16);
  const c = crypto.createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zero = Buffer.alloc(MiB);
  for (let left = size; left > 0; left -= MiB) yield c.update(zero.subarray(0, Math.min(MiB, left)));
}

async function* zeros(size: number): AsyncGenerator<Buffer> {
  const zero = Buffer.alloc(MiB);
  for (let left = size; left > 0; left -= MiB) yield zero.subarray(0, Math.min(MiB, left));
}

interface Member {
  name: string;
  size: number;
  data: () => AsyncIterable<Buffer>;
  mode?: number;
  type?: string;
  linkname?: string;
}

const small = (name: string, text: string): Member => ({ name, size: Buffer.byteLength(text), data: async function* () { yield Buffer.from(text); } });

/** A tar archive as a stream; `cutAt` stops it after that many bytes (a truncated download). */
async function* tarStream(members: Member[], cutAt = Infinity): AsyncGenerator<Buffer> {
  let sent = 0;
  function* cut(b: Buffer): Generator<Buffer> {
    if (sent >= cutAt) return;
    const part = b.subarray(0, Math.max(0, cutAt - sent));
    sent += part.length;
    yield part;
  }
  for (const m of members) {
    yield* cut(header({ name: m.name, size: m.type === undefined || m.type === '0' ? m.size : 0, ...(m.mode ? { mode: m.mode } : {}), ...(m.type ? { type: m.type } : {}), ...(m.linkname ? { linkname: m.linkname } : {}) }));
    if (m.type !== undefined && m.type !== '0') continue;
    for await (const c of m.data()) yield* cut(c);
    if (m.size % 512) yield* cut(Buffer.alloc(512 - (m.size % 512)));
  }
  yield* cut(Buffer.alloc(1024));
}

async function writeFile(file: string, src: AsyncIterable<Buffer>, gzip = false): Promise<string> {
  await pipeline(Readable.from(src), ...(gzip ? [zlib.createGzip({ level: 1 })] : []), fs.createWriteStream(file));
  return file;
}

function git(gitdir: string, ...args: string[]): string {
  return execFileSync('git', ['--git-dir', gitdir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * MiB });
}

/** The blob id native git gives these bytes. */
async function gitHash(src: AsyncIterable<Buffer>): Promise<string> {
  const p = spawn('git', ['hash-object', '--stdin'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const done = new Promise((resolve) => p.on('close', resolve));
  await pipeline(Readable.from(src), p.stdin);
  await done;
  return out.trim();
}

/** Ids of the objects in each pack of the repository. */
function packObjects(gitdir: string): string[][] {
  const dir = path.join(gitdir, 'objects', 'pack');
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.idx'))
    .map((n) => execFileSync('git', ['show-index'], { input: fs.readFileSync(path.join(dir, n)), encoding: 'utf8' }).trim().split('\n').map((l) => l.split(' ')[1]!));
}

function repo(): string {
  return bareRepo(fs.mkdtempSync(path.join(tmp.dir, 'r-')));
}

describe('importTarball: big entries are streamed', () => {
  it('a 72 MiB pseudo-random and a 64 MiB zero file, gzip: the tree git add writes, fsck --full clean', async () => {
    const members: Member[] = [
      small('big-1.0/README', 'big files\n'),
      { name: 'big-1.0/data/random.bin', size: 72 * MiB + 123, data: () => noise(72 * MiB + 123, 'r') },
      { name: 'big-1.0/data/zeros.img', size: 64 * MiB, data: () => zeros(64 * MiB), mode: 0o755 },
      small('big-1.0/after.txt', 'after the big ones\n'),
    ];
    const file = await writeFile(path.join(tmp.dir, 'big.tar.gz'), tarStream(members), true);
    const gitdir = repo();
    const r = await importTarball({ gitdir, input: fs.createReadStream(file), source: 'big.tar.gz' });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.bytes).toBe(136 * MiB + 123 + 10 + 19);

    const out = path.join(tmp.dir, 'big-extracted');
    fs.mkdirSync(out);
    execFileSync('tar', ['-C', out, '-xzf', file]);
    expect(r.value.tree).toBe(nativeTree(path.join(out, 'big-1.0')));
    fs.rmSync(out, { recursive: true });
    expect(git(gitdir, 'fsck', '--full', '--strict', '--no-dangling')).toBe('');
    const random = git(gitdir, 'rev-parse', `${r.value.tree}:data/random.bin`).trim();
    expect(random).toBe(await gitHash(noise(72 * MiB + 123, 'r')));
    expect(git(gitdir, 'cat-file', '-s', random).trim()).toBe(String(72 * MiB + 123));
    expect(git(gitdir, 'cat-file', '-s', `${r.value.tree}:data/zeros.img`).trim()).toBe(String(64 * MiB));
    // zeros deflate, random data is stored: the pack is about the random file's size
    const pack = fs.readdirSync(path.join(gitdir, 'objects', 'pack')).find((n) => n.endsWith('.pack'))!;
    const size = fs.statSync(path.join(gitdir, 'objects', 'pack', pack)).size;
    expect(size).toBeGreaterThan(72 * MiB);
    expect(size).toBeLessThan(73 * MiB);
  }, 180_000);

  it('every file streamed (threshold lowered to 1 byte): the same tree as git add, with hard links, overwrites and duplicates', async () => {
    const text = Array.from({ length: 5000 }, (_, i) => `line ${i}\n`).join('');
    const members: Member[] = [
      small('pkg-1.0/a.txt', text),
      small('pkg-1.0/b.txt', text), // a duplicate of a.txt
      small('pkg-1.0/run.sh', '#!/bin/sh\n'),
      { ...small('pkg-1.0/run.sh', '#!/bin/sh\necho replaced\n'), mode: 0o755 },
      { name: 'pkg-1.0/hard', size: 0, data: () => zeros(0), type: '1', linkname: 'pkg-1.0/a.txt' },
      { name: 'pkg-1.0/empty', size: 0, data: () => zeros(0) },
      { name: 'pkg-1.0/noise', size: 300_000, data: () => noise(300_000, 'n') },
    ];
    const file = await writeFile(path.join(tmp.dir, 'all.tar'), tarStream(members));
    const gitdir = repo();
    const r = await importTarball({ gitdir, input: fs.createReadStream(file), source: 'all.tar', streamFrom: 1 });
    if (!r.ok) throw new Error(r.error.message);
    const out = path.join(tmp.dir, 'all-extracted');
    fs.mkdirSync(out);
    execFileSync('tar', ['-C', out, '-xf', file]);
    expect(r.value.tree).toBe(nativeTree(path.join(out, 'pkg-1.0')));
    expect(git(gitdir, 'fsck', '--full', '--strict', '--no-dangling')).toBe('');
    // a.txt (= b.txt = hard), both run.sh (the first is overwritten, as today), empty, noise, one tree
    expect(packObjects(gitdir).map((p) => p.length)).toEqual([6]);
  });

  it('the same big file twice, then small files: one object, and no bytes of the second copy left in the pack', async () => {
    const members: Member[] = [
      { name: 'dup-1.0/one.bin', size: 3 * MiB, data: () => noise(3 * MiB, 'd') },
      { name: 'dup-1.0/two.bin', size: 3 * MiB, data: () => noise(3 * MiB, 'd') },
      small('dup-1.0/small.txt', 'small\n'),
    ];
    const gitdir = repo();
    const r = await importTarball({ gitdir, input: Readable.from(tarStream(members)), source: 'dup.tar', streamFrom: MiB });
    if (!r.ok) throw new Error(r.error.message);
    expect(git(gitdir, 'fsck', '--full', '--strict', '--no-dangling')).toBe('');
    expect(git(gitdir, 'rev-parse', `${r.value.tree}:one.bin`)).toBe(git(gitdir, 'rev-parse', `${r.value.tree}:two.bin`));
    expect(packObjects(gitdir).map((p) => p.length)).toEqual([3]);
    const pack = fs.readdirSync(path.join(gitdir, 'objects', 'pack')).find((n) => n.endsWith('.pack'))!;
    // one stored 3 MiB copy plus small objects and deflate's block overhead, not two
    expect(fs.statSync(path.join(gitdir, 'objects', 'pack', pack)).size).toBeLessThan(3 * MiB + 4096);
  });

  it('a big file the repository already has (packed, or loose): not written again', async () => {
    const gitdir = repo();
    const first = await importTarball({
      gitdir,
      input: Readable.from(tarStream([{ name: 'rel-1.0/big.bin', size: 2 * MiB, data: () => noise(2 * MiB, 'e') }])),
      source: 'rel-1.0.tar',
      streamFrom: MiB,
    });
    if (!first.ok) throw new Error(first.error.message);
    // and one only as a loose object, written by git itself
    const loose = path.join(tmp.dir, 'loose.bin');
    await writeFile(loose, noise(2 * MiB, 'l'));
    const looseId = git(gitdir, 'hash-object', '-w', loose).trim();
    const before = packObjects(gitdir).flat();

    const second = await importTarball({
      gitdir,
      input: Readable.from(
        tarStream([
          { name: 'rel-2.0/big.bin', size: 2 * MiB, data: () => noise(2 * MiB, 'e') },
          { name: 'rel-2.0/loose.bin', size: 2 * MiB, data: () => noise(2 * MiB, 'l') },
          small('rel-2.0/NEWS', 'new\n'),
        ]),
      ),
      source: 'rel-2.0.tar',
      streamFrom: MiB,
    });
    if (!second.ok) throw new Error(second.error.message);
    expect(git(gitdir, 'rev-parse', `${second.value.tree}:loose.bin`).trim()).toBe(looseId);
    const added = packObjects(gitdir).flat().filter((o) => !before.includes(o));
    // NEWS and the root tree only
    expect(added).toHaveLength(2);
    expect(added).not.toContain(looseId);
    expect(git(gitdir, 'fsck', '--full', '--strict', '--no-dangling')).toBe('');
    const packs = fs.readdirSync(path.join(gitdir, 'objects', 'pack')).filter((n) => n.endsWith('.pack'));
    const newest = packs.map((n) => path.join(gitdir, 'objects', 'pack', n)).sort((a, b) => fs.statSync(a).size - fs.statSync(b).size)[0]!;
    expect(fs.statSync(newest).size).toBeLessThan(4096);
  });

  it.each([
    ['plain tar', false],
    ['gzip', true],
  ])('a big file cut short (%s): the error names it, the repository is left exactly as it was', async (_, gzip) => {
    const gitdir = repo();
    const members: Member[] = [
      small('cut-1.0/first.txt', 'first\n'),
      { name: 'cut-1.0/big.bin', size: 6 * MiB, data: () => noise(6 * MiB, 'c') },
      small('cut-1.0/never.txt', 'never\n'),
    ];
    const file = await writeFile(path.join(tmp.dir, `cut-${gzip}.tar${gzip ? '.gz' : ''}`), tarStream(members, 512 * 3 + 4 * MiB), gzip);
    if (gzip) {
      // and the gzip stream itself ends early too, mid-entry
      const whole = fs.readFileSync(file);
      fs.writeFileSync(file, whole.subarray(0, whole.length - 100));
    }
    const before = objectStore(gitdir);
    const r = await importTarball({ gitdir, input: fs.createReadStream(file), source: 'cut.tar', streamFrom: MiB });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('E_TARBALL_CORRUPT');
    if (!gzip) {
      expect(r.error.entry).toBe('cut-1.0/big.bin');
      expect(r.error.message).toContain('"cut-1.0/big.bin"');
    }
    expect(objectStore(gitdir)).toEqual(before);
  });
});

describe('importTarball: limits', () => {
  it('unpacked size: refused at the entry that passes it, from its header, before its content is read', async () => {
    const gitdir = repo();
    const before = objectStore(gitdir);
    // a header announcing 9 GiB followed by only 1 MiB: a bomb is refused at the header
    const data = tar(entry({ name: 'bomb-1.0/a.txt', data: 'a\n' }), header({ name: 'bomb-1.0/huge', size: 9 * 1024 ** 3 }), Buffer.alloc(MiB));
    const r = await importTarball({ gitdir, input: streamOf(data), source: 'bomb.tar' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.toJSON()).toEqual({
      code: 'E_TARBALL_LIMIT',
      message: 'bomb.tar: entry "bomb-1.0/huge" takes the unpacked size past 8GiB (8589934592 bytes), the max_unpacked_size limit; nothing was imported',
      hint: 'if this release really is that big, raise the limit in metadata/weld.toml: [mirror] max_unpacked_size = "16GiB"',
      source: 'bomb.tar',
      entry: 'bomb-1.0/huge',
      limit: 'max_unpacked_size',
      value: 8 * 1024 ** 3,
    });
    expect(objectStore(gitdir)).toEqual(before);
  });

  it('unpacked size, lowered: the sum counts, not the single file', async () => {
    const gitdir = repo();
    const data = tar(entry({ name: 'p-1/a', data: 'x'.repeat(600) }), entry({ name: 'p-1/b', data: 'y'.repeat(300) }), entry({ name: 'p-1/c', data: 'z'.repeat(200) }));
    const r = await importTarball({ gitdir, input: streamOf(data), source: 'p.tar', limits: { maxUnpackedBytes: 1000 } });
    expect(r.ok ? undefined : { code: r.error.code, entry: r.error.entry }).toEqual({ code: 'E_TARBALL_LIMIT', entry: 'p-1/c' });
    expect(objectStore(gitdir).filter((f) => !f.startsWith('info'))).toEqual([]);
    const fits = await importTarball({ gitdir, input: streamOf(data), source: 'p.tar', limits: { maxUnpackedBytes: 1100 } });
    expect(fits.ok).toBe(true);
  });

  it('unpacked size counts hard links: git stores each as another copy, and a checkout writes it again', async () => {
    const gitdir = repo();
    const links = Array.from({ length: 5 }, (_, i) => entry({ name: `h-1/l${i}`, type: '1', linkname: 'h-1/a' }));
    const data = tar(entry({ name: 'h-1/a', data: 'x'.repeat(600) }), ...links);
    const r = await importTarball({ gitdir, input: streamOf(data), source: 'h.tar', limits: { maxUnpackedBytes: 1000 } });
    expect(r.ok ? undefined : { code: r.error.code, entry: r.error.entry }).toEqual({ code: 'E_TARBALL_LIMIT', entry: 'h-1/l0' });
    expect(objectStore(gitdir).filter((f) => !f.startsWith('info'))).toEqual([]);
  });

  it('entry count: refused at the first entry past it, nothing written', async () => {
    const gitdir = repo();
    const before = objectStore(gitdir);
    const data = tar(...Array.from({ length: 5 }, (_, i) => entry({ name: `n-1/f${i}`, data: `${i}\n` })));
    const r = await importTarball({ gitdir, input: streamOf(data), source: 'n.tar', limits: { maxEntries: 3 } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('E_TARBALL_LIMIT');
    expect(r.error.message).toBe('n.tar: entry "n-1/f3" is entry number 4, past the limit of 3 entries, the max_entries limit; nothing was imported');
    expect(r.error.hint).toBe('if this release really is that big, raise the limit in metadata/weld.toml: [mirror] max_entries = 6');
    expect(objectStore(gitdir)).toEqual(before);
  });
});
