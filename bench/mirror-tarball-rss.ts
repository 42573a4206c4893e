import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { importTarball } from '../src/mirror/tarball/import.js';

// Memory of importing one huge entry: a gzip holding ONE 4 GiB file of zeros (about
// 4 MB compressed, made streaming, never on disk unpacked) imported by importTarball
// in a child process measured with /usr/bin/time -v (maximum resident set size),
// beside `tar xzOf … > /dev/null` of the same file. Goal (issue "memory stays flat"):
// under 200 MB. BENCH_RSS_GIB sets the size (default 4).
//
// BENCH_RSS_RANDOM=1 adds a second case for pack offsets past 2 GiB and 4 GiB: about
// 4.6 GiB of pseudo-random files (stored, not deflated) with small files after each,
// generated straight into the import (no tarball on disk), then `git fsck --full`.

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const TIME = '/usr/bin/time';
const self = fileURLToPath(import.meta.url);

/** One ustar header block. */
function header(name: string, size: number, mode = 0o644): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0);
  const octal = (off: number, len: number, v: number) => h.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
  octal(100, 8, mode);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 1_700_000_000);
  h.write('0', 156, 1, 'latin1');
  h.write('ustar\u000000', 257, 8, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return h;
}

type Member = { name: string; size: number; data: () => Iterable<Buffer> };

function* zeros(size: number): Generator<Buffer> {
  const z = Buffer.alloc(4 * MiB);
  for (let left = size; left > 0; left -= z.length) yield z.subarray(0, Math.min(z.length, left));
}

function* noise(size: number, seed: string): Generator<Buffer> {
  const c = crypto.createCipheriv('aes-128-ctr', crypto.createHash('sha256').update(seed).digest().subarray(0, 16), Buffer.alloc(16));
  const z = Buffer.alloc(4 * MiB);
  for (let left = size; left > 0; left -= z.length) yield c.update(z.subarray(0, Math.min(z.length, left)));
}

function* tarOf(members: Member[]): Generator<Buffer> {
  for (const m of members) {
    yield header(m.name, m.size);
    yield* m.data();
    if (m.size % 512) yield Buffer.alloc(512 - (m.size % 512));
  }
  yield Buffer.alloc(1024);
}

function randomMembers(): Member[] {
  const out: Member[] = [];
  const big = [2.5 * GiB, 2.1 * GiB].map(Math.floor);
  big.forEach((size, i) => {
    out.push({ name: `huge-1.0/random-${i}.bin`, size, data: () => noise(size, `r${i}`) });
    out.push({ name: `huge-1.0/after-${i}.txt`, size: 6, data: () => [Buffer.from(`after${i}`.slice(0, 6))] });
  });
  return out;
}

async function child(mode: string, gitdir: string, tarball?: string): Promise<void> {
  const input = mode === 'zeros' ? createReadStream(tarball!) : Readable.from(tarOf(randomMembers()));
  const t0 = performance.now();
  const r = await importTarball({ gitdir, input, source: mode });
  if (!r.ok) throw new Error(r.error.message);
  process.stdout.write(JSON.stringify({ tree: r.value.tree, bytes: r.value.bytes, seconds: (performance.now() - t0) / 1000 }) + '\n');
}

function maxRss(stderr: string): number {
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  if (!m) throw new Error(`no max RSS in /usr/bin/time output:\n${stderr}`);
  return Number(m[1]) / 1024;
}

function timed(cmd: string, args: string[]): { rssMiB: number; seconds: number; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync(TIME, ['-v', cmd, ...args], { encoding: 'utf8', maxBuffer: 16 * MiB });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return { rssMiB: maxRss(r.stderr), seconds: (performance.now() - t0) / 1000, stdout: r.stdout };
}

function weldCase(label: string, args: string[], gitdir: string, expectBytes: number): number {
  execFileSync('git', ['init', '-q', '--bare', gitdir]);
  const w = timed(process.execPath, [self, '--child', ...args]);
  const got = JSON.parse(w.stdout) as { tree: string; bytes: number; seconds: number };
  if (got.bytes !== expectBytes) throw new Error(`imported ${got.bytes} bytes, expected ${expectBytes}`);
  const t0 = performance.now();
  execFileSync('git', ['--git-dir', gitdir, 'fsck', '--full', '--strict', '--no-dangling'], { stdio: 'pipe' }); // throws, with git's words, unless clean
  const fsck = (performance.now() - t0) / 1000;
  const packs = execFileSync('sh', ['-c', `ls -l ${gitdir}/objects/pack/*.pack | awk '{print $5}'`], { encoding: 'utf8' }).trim();
  console.log(`${label.padEnd(44)} max RSS ${w.rssMiB.toFixed(0).padStart(6)} MiB  ${got.seconds.toFixed(1).padStart(6)} s   (pack ${(Number(packs) / MiB).toFixed(1)} MiB; git fsck --full clean in ${fsck.toFixed(1)} s)`);
  return w.rssMiB;
}

async function main(): Promise<void> {
  if (!existsSync(TIME)) throw new Error(`${TIME} is missing: apt-get install -y time`);
  const size = Math.floor(Number(process.env['BENCH_RSS_GIB'] ?? 4) * GiB);
  const root = mkdtempSync(path.join(os.tmpdir(), 'weld-bench-rss-'));
  try {
    const tarball = path.join(root, 'zeros-1.0.tar.gz');
    const t0 = performance.now();
    await pipeline(Readable.from(tarOf([{ name: 'zeros-1.0/zeros.img', size, data: () => zeros(size) }])), zlib.createGzip({ level: 6 }), createWriteStream(tarball));
    console.log(`tarball: one ${(size / GiB).toFixed(2)} GiB file of zeros, ${(statSync(tarball).size / MiB).toFixed(1)} MiB gzip (made in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    const tarRef = timed('sh', ['-c', `tar xzOf '${tarball}' > /dev/null`]);
    console.log(`${'(ref) tar xzOf … > /dev/null'.padEnd(44)} max RSS ${tarRef.rssMiB.toFixed(0).padStart(6)} MiB  ${tarRef.seconds.toFixed(1).padStart(6)} s`);
    const rss = weldCase('importTarball (child process)', ['zeros', path.join(root, 'zeros.git'), tarball], path.join(root, 'zeros.git'), size);
    console.log(`goal: max RSS under 200 MiB: ${rss < 200 ? 'met' : 'missed'}`);
    rmSync(path.join(root, 'zeros.git'), { recursive: true, force: true });
    if (process.env['BENCH_RSS_RANDOM']) {
      const members = randomMembers();
      const total = members.reduce((n, m) => n + m.size, 0);
      weldCase(`random files, ${(total / GiB).toFixed(1)} GiB, offsets > 4 GiB`, ['random', path.join(root, 'random.git')], path.join(root, 'random.git'), total);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3]!, process.argv[4]!, process.argv[5]);
else await main();
