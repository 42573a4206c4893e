import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import git from 'isomorphic-git';
import { importTarball } from '../src/mirror/tarball/import.js';

// Importing an upstream release tarball: `tar xzf` + `git add -A` + `git commit` into
// a fresh repository, against importTarball into a fresh bare repository plus an
// isomorphic-git writeCommit, on a generated ~100 MB, ~5,000-file tree. Both cases
// run in the same process run, round-robin, median of BENCH_RUNS (default 3); weld runs
// in-process with its modules already loaded. Goal (issue 4): weld faster.

const runs = Number(process.env['BENCH_RUNS'] ?? 3);
const root = mkdtempSync(path.join(os.tmpdir(), 'weld-bench-tarball-'));
const IDENTITY = { GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };

// A seeded generator, so every run of the benchmark imports the same tree.
let seed = 0x9e3779b9;
function rand(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x100000000;
}
const pick = (n: number) => Math.floor(rand() * n);

function randomBytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 4) b.writeUInt32LE((rand() * 0x100000000) >>> 0, Math.min(i, n - 4));
  return b;
}

/** Source-like text: lines of words from a small vocabulary, so it deflates to ~30%. */
function makeCorpus(bytes: number): string {
  const vocab = Array.from({ length: 3000 }, () => Array.from({ length: 2 + pick(9) }, () => String.fromCharCode(97 + pick(26))).join(''));
  const lines: string[] = [];
  let n = 0;
  while (n < bytes) {
    const indent = '    '.repeat(pick(4));
    const line = indent + Array.from({ length: 3 + pick(10) }, () => vocab[pick(vocab.length)]).join(' ') + (rand() < 0.3 ? ';' : '') + '\n';
    lines.push(line);
    n += line.length;
  }
  return lines.join('');
}

/** ~100 MB in ~5,000 files: mostly small text, some large text, some incompressible data. */
function writeTree(dir: string): { files: number; bytes: number } {
  const corpus = makeCorpus(8 * 1024 * 1024);
  const dirs = ['.'];
  for (let i = 0; i < 300; i++) dirs.push(path.join(dirs[pick(dirs.length)]!, `dir${i}`));
  for (const d of dirs) mkdirSync(path.join(dir, d), { recursive: true });
  let files = 0;
  let bytes = 0;
  const put = (data: string | Buffer, exec = false) => {
    const p = path.join(dir, dirs[pick(dirs.length)]!, `file${files}${exec ? '.sh' : typeof data === 'string' ? '.c' : '.bin'}`);
    writeFileSync(p, data, { mode: exec ? 0o755 : 0o644 });
    files++;
    bytes += data.length;
  };
  const text = (size: number) => {
    const at = pick(corpus.length - size);
    return `/* file ${files} */\n${corpus.slice(at, at + size)}`;
  };
  for (let i = 0; i < 4650; i++) put(text(500 + pick(24_000)), i % 50 === 0);
  for (let i = 0; i < 60; i++) put(text(200_000 + pick(400_000)));
  for (let i = 0; i < 290; i++) put(randomBytes(1_000 + pick(200_000)));
  for (let i = 0; i < 20; i++) symlinkSync(`../file${i}.c`, path.join(dir, 'dir0', `link${i}`));
  return { files, bytes };
}

function timeMs(f: () => void): number {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function timeAsync(f: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function sh(cwd: string, cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, ...IDENTITY }, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const src = path.join(root, 'src');
  const tree = writeTree(path.join(src, 'pkg-1.0'));
  const tarball = path.join(root, 'pkg-1.0.tar.gz');
  execFileSync('tar', ['-C', src, '-czf', tarball, 'pkg-1.0']);
  rmSync(src, { recursive: true });
  console.log(
    `tree: ${tree.files} files + 20 symlinks, ${(tree.bytes / 1e6).toFixed(1)} MB; tarball ${(statSync(tarball).size / 1e6).toFixed(1)} MB (.tar.gz); median of ${runs} runs`,
  );

  const native: number[] = [];
  const weld: number[] = [];
  let nativeTree = '';
  let weldTree = '';
  for (let i = 0; i < runs; i++) {
    const work = path.join(root, `native-${i}`);
    mkdirSync(work);
    sh(work, 'git', ['init', '-q']);
    native.push(
      timeMs(() => {
        sh(work, 'tar', ['xzf', tarball, '--strip-components=1']);
        sh(work, 'git', ['add', '-A']);
        sh(work, 'git', ['commit', '-q', '-m', 'upstream 1.0']);
      }),
    );
    nativeTree = execFileSync('git', ['rev-parse', 'HEAD^{tree}'], { cwd: work, encoding: 'utf8' }).trim();
    rmSync(work, { recursive: true, force: true });

    const gitdir = path.join(root, `weld-${i}.git`);
    sh(root, 'git', ['init', '-q', '--bare', gitdir]);
    weld.push(
      await timeAsync(async () => {
        const r = await importTarball({ gitdir, input: createReadStream(tarball), source: tarball });
        if (!r.ok) throw new Error(r.error.message);
        weldTree = r.value.tree;
        const who = { name: 'b', email: 'b@b', timestamp: r.value.mtime, timezoneOffset: 0 };
        await git.writeCommit({ fs, gitdir, commit: { message: 'upstream 1.0\n', tree: r.value.tree, parent: [], author: who, committer: who } });
      }),
    );
    rmSync(gitdir, { recursive: true, force: true });
  }
  if (nativeTree !== weldTree) throw new Error(`trees differ: native ${nativeTree}, weld ${weldTree}`);
  const a = median(native);
  const b = median(weld);
  console.log(`(a) tar xzf + git add -A + git commit      ${a.toFixed(0).padStart(6)} ms`);
  console.log(`(b) importTarball + isomorphic-git commit  ${b.toFixed(0).padStart(6)} ms`);
  console.log(`ratio (b)/(a): ${(b / a).toFixed(2)}  (goal < 1: ${b < a ? 'met' : 'missed'}); same tree ${weldTree}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
