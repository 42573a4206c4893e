import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { writeDebianArchive } from '../test/helpers/debian-archive.js';
import { git } from '../test/helpers/git.js';
import { gitHttpServer } from '../test/helpers/servers.js';
import { medians } from './timing.js';

// weld mirror against the tools it replaces, in one run (issue 4):
//  - a git upstream of ~100 MB in ~5,000 files and 50 commits: weld mirror (native git
//    and isomorphic-git) against `git clone --mirror`, both over smart HTTP on loopback;
//  - a no-op re-mirror of the sample distro against `weld check`.
// The tarball import has its own benchmark (bench/mirror-tarball.ts).

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const weld = path.join(repoRoot, 'bin/weld');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'weld-bench-mirror-'));

async function time(label: string, fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${label.padEnd(44)} ${s.toFixed(2).padStart(7)} s`);
  return s;
}

/** Asynchronous on purpose: the git server runs in this process and must keep answering. */
async function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<void> {
  const r = await execa(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}

/** A project whose only package is `pkg`, with the sample's envs and recipes. */
function project(dir: string, packages: Record<string, string>): void {
  mkdirSync(path.join(dir, 'metadata/packages'), { recursive: true });
  cpSync(path.join(repoRoot, 'recipes'), path.join(dir, 'recipes'), { recursive: true });
  cpSync(path.join(repoRoot, 'metadata/envs'), path.join(dir, 'metadata/envs'), { recursive: true });
  writeFileSync(path.join(dir, 'metadata/weld.toml'), '[distro]\nname = "bench"\narch = "s390x"\nenv = "bookworm-s390x"\n');
  for (const [name, text] of Object.entries(packages)) writeFileSync(path.join(dir, 'metadata/packages', `${name}.toml`), text);
}

async function gitUpstream(): Promise<void> {
  const work = path.join(tmp, 'upstream');
  mkdirSync(work);
  git(work, 'init', '-q', '-b', 'main');
  const text = Buffer.from('def handler(request):\n    return respond(request.path, status=200)\n'.repeat(8000));
  let bytes = 0;
  for (let c = 0; c < 50; c++) {
    for (let f = 0; f < 100; f++) {
      // mostly small sources, a few large assets: ~20 KB on average, ~100 MB in all
      const size = f % 10 === 0 ? 100_000 + ((c * 37 + f) % 50) * 2_000 : 4_000 + ((c * 13 + f * 7) % 24) * 500;
      const dir = path.join(work, `pkg${c % 10}`, `mod${f % 20}`);
      mkdirSync(dir, { recursive: true });
      // half text-like (compressible), half random
      const buf = f % 2 ? Buffer.concat([Buffer.from(`# file ${c}/${f}\n`), text.subarray(0, size)]) : randomBytes(size);
      writeFileSync(path.join(dir, `file${c}_${f}.dat`), buf);
      bytes += size;
    }
    git(work, 'add', '-A');
    git(work, 'commit', '-q', '-m', `commit ${c}`);
  }
  git(work, 'tag', 'v1.0');
  const srv = path.join(tmp, 'srv');
  git(tmp, 'clone', '-q', '--bare', work, path.join(srv, 'big.git'));
  console.log(`git upstream: 5000 files, ${(bytes / 2 ** 20).toFixed(0)} MiB, 50 commits`);
  const server = await gitHttpServer(srv);
  try {
    const url = `${server.url}/big.git`;
    const native = await time('git clone --mirror (smart HTTP)', () => run('git', ['clone', '-q', '--mirror', url, path.join(tmp, 'clone.git')]));
    const proj = path.join(tmp, 'gitproj');
    project(proj, { big: `[package]\nname = "big"\nversion = "1.0"\n\n[upstream]\ngit = "${url}"\ntag = "v1.0"\n\n[build]\nrecipe = "python-wheel"\n` });
    const env = { WELD_STORE: path.join(tmp, 'store') };
    const withGit = await time('weld mirror (native git fetch)', () => run(process.execPath, [weld, 'mirror', 'big', '--mirrors', path.join(tmp, 'm1')], { cwd: proj, env: { ...env, WELD_GIT: 'native' } }));
    const withIso = await time('weld mirror (isomorphic-git fetch)', () => run(process.execPath, [weld, 'mirror', 'big', '--mirrors', path.join(tmp, 'm2')], { cwd: proj, env: { ...env, WELD_GIT: 'isomorphic' } }));
    console.log(`ratio weld (native git) / git clone --mirror:      ${(withGit / native).toFixed(2)}× (goal ≤ 2×)`);
    console.log(`ratio weld (isomorphic-git) / git clone --mirror:  ${(withIso / native).toFixed(2)}×`);
  } finally {
    await server.close();
  }
}

async function sampleNoop(): Promise<void> {
  // The sample distro, its Debian sources served from a local archive of small tarballs.
  const proj = path.join(tmp, 'sample');
  mkdirSync(proj);
  for (const d of ['metadata', 'recipes']) cpSync(path.join(repoRoot, d), path.join(proj, d), { recursive: true });
  rmSync(path.join(proj, 'metadata/weld.lock'), { force: true });
  const sources = JSON.parse(execFileSync(process.execPath, [weld, 'list', '--json'], { cwd: proj, encoding: 'utf8' })) as Array<{ name: string; version: string; upstream: { source: string } }>;
  const archive = path.join(tmp, 'archive');
  writeDebianArchive(archive, {
    suite: 'bookworm',
    sources: sources.map((p) => {
      const src = path.join(tmp, 'orig', `${p.name}-${p.version}`);
      mkdirSync(src, { recursive: true });
      writeFileSync(path.join(src, 'setup.py'), `# ${p.name}\n`);
      const file = path.join(tmp, 'orig', `${p.name}.tar.gz`);
      tar.c({ gzip: true, file, cwd: path.dirname(src), sync: true, portable: true }, [path.basename(src)]);
      return { package: p.upstream.source, version: `${p.version}-1`, files: [{ name: `${p.upstream.source}_${p.version}.orig.tar.gz`, content: readFileSync(file) }] };
    }),
  });
  // file:// keeps this part free of any server
  const env = { ...process.env, WELD_DEBIAN_MIRROR: `file://${archive}`, WELD_STORE: path.join(tmp, 'sample-store') };
  await run(process.execPath, [weld, 'mirror', '--all'], { cwd: proj, env });
  const m = medians(
    [
      { label: 'weld check', cmd: process.execPath, args: [weld, 'check'], cwd: proj },
      { label: 'weld mirror --all (no-op)', cmd: 'env', args: [`WELD_DEBIAN_MIRROR=${env.WELD_DEBIAN_MIRROR}`, `WELD_STORE=${env.WELD_STORE}`, process.execPath, weld, 'mirror', '--all'], cwd: proj },
    ],
    Number(process.env['BENCH_RUNS'] ?? 11),
  );
  const check = m.get('weld check')!;
  const noop = m.get('weld mirror --all (no-op)')!;
  console.log(`sample distro (${sources.length} packages), median of runs:`);
  console.log(`weld check                  ${check.toFixed(0).padStart(6)} ms`);
  console.log(`weld mirror --all (no-op)   ${noop.toFixed(0).padStart(6)} ms  ${(noop / check).toFixed(2)}× weld check (goal ≤ 1.5×)`);
}

try {
  await sampleNoop();
  await gitUpstream();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
