import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { project, simpleIndex, type IndexProject, type SdistSpec } from '../test/helpers/sdists.js';

// `weld import` of a 50-, 100- and 200-project requirements file from a loopback simple
// index (issue 18: under 2 s plus transfer, and linear in the number of projects). The
// reference, measured in the same run, is the transfer alone: every index page and every
// sdist the import reads, fetched over the same loopback with the same parallelism.

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const weld = path.join(repoRoot, 'bin/weld');
const runs = Number(process.env['BENCH_RUNS'] ?? 3);
const sizes = (process.env['BENCH_SIZES'] ?? '50,100,200').split(',').map(Number);

/** n projects, two versions each; each requires the two after it (a deep, shared closure) and a
 *  few carry an extra and a marker, as real requirement sets do. */
function projects(n: number): IndexProject[] {
  const name = (i: number) => `proj-${String(i).padStart(3, '0')}`;
  const out: IndexProject[] = [];
  for (let i = 0; i < n; i++) {
    const requires = [i + 1, i + 2].filter((j) => j < n).map((j) => `${name(j)}>=1.0`);
    if (i % 10 === 0 && i + 3 < n) requires.push(`${name(i + 3)}[extra]; python_version >= "3.8"`);
    if (i % 7 === 0) requires.push('never-installed; sys_platform == "win32"');
    const filler = { 'README.md': `# ${name(i)}\n${'lorem ipsum dolor sit amet '.repeat(400)}\n` }; // ~10 KB, a small real sdist
    const spec = (v: string): SdistSpec => ({ name: name(i), version: v, summary: `Project ${i}`, license: 'MIT', requires, extra: filler });
    out.push(project(spec('1.0'), spec('1.1')));
  }
  return out;
}

function run(cmd: string, args: string[], cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}):\n${stderr.slice(-2000)}`))));
  });
}

async function transfer(url: string, ps: IndexProject[]): Promise<number> {
  const limit = pLimit(8);
  const t0 = process.hrtime.bigint();
  await Promise.all(
    ps.map((p) =>
      limit(async () => {
        const page = await fetch(`${url}/${p.key}/`, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } });
        const doc = (await page.json()) as { files: Array<{ url: string }> };
        const newest = doc.files.at(-1)!;
        await (await fetch(new URL(newest.url, `${url}/${p.key}/`))).arrayBuffer();
      }),
    ),
  );
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const index = await simpleIndex({ projects: [] });
const rows: Array<{ n: number; importMs: number; transferMs: number; nodeMs: number }> = [];
try {
  for (const n of sizes) {
    const ps = projects(n);
    index.set(ps);
    const imports: number[] = [];
    const transfers: number[] = [];
    const nodes: number[] = [];
    for (let r = 0; r < runs; r++) {
      const root = mkdtempSync(path.join(os.tmpdir(), 'weld-bench-import-'));
      try {
        for (const d of ['metadata', 'recipes']) cpSync(path.join(repoRoot, d), path.join(root, d), { recursive: true });
        writeFileSync(path.join(root, 'requirements.txt'), ps.map((p) => `${p.key}>=1.0\n`).join(''));
        nodes.push(await run(process.execPath, ['-e', '0'], root));
        transfers.push(await transfer(index.url, ps));
        imports.push(await run(process.execPath, [weld, 'import', '--sources', 'index', '--index-url', index.url, 'requirements.txt'], root));
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }
    rows.push({ n, importMs: median(imports), transferMs: median(transfers), nodeMs: median(nodes) });
  }
} finally {
  await index.close();
}

console.log(`weld import from a loopback simple index (2 sdists of ~10 KB per project; median of ${runs} runs)`);
console.log('projects  weld import   transfer alone  import − transfer  per project  ratio to transfer');
for (const r of rows) {
  const own = r.importMs - r.transferMs;
  console.log(
    `${String(r.n).padStart(8)}  ${r.importMs.toFixed(0).padStart(8)} ms  ${r.transferMs.toFixed(0).padStart(11)} ms  ${own.toFixed(0).padStart(14)} ms  ${(r.importMs / r.n).toFixed(1).padStart(8)} ms  ${(r.importMs / r.transferMs).toFixed(1).padStart(8)}×`,
  );
}
const last = rows.at(-1);
if (last) {
  const own = last.importMs - last.transferMs;
  console.log(`goal: ${last.n} projects under 2 s plus transfer: ${(own / 1000).toFixed(2)} s beyond the transfer (${own <= 2000 ? 'met' : 'missed'}); node -e 0 is ${last.nodeMs.toFixed(0)} ms of it`);
  const first = rows[0]!;
  if (rows.length > 1) console.log(`linearity: per project ${(first.importMs / first.n).toFixed(1)} ms at ${first.n}, ${(last.importMs / last.n).toFixed(1)} ms at ${last.n} (ratio ${(last.importMs / last.n / (first.importMs / first.n)).toFixed(2)}; 1.00 is linear)`);
}
