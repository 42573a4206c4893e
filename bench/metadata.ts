import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticDistro } from './synthetic-distro.js';
import { medians, type Case } from './timing.js';

// weld check / graph on a synthetic 1,000-package distro, against `node -e 0` in the
// same run. Goals (issue 2): check ≤ 3× node start-up, --help ≤ 1.5×.

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const weld = path.join(repoRoot, 'bin/weld');
const runs = Number(process.env['BENCH_RUNS'] ?? 15);
const root = mkdtempSync(path.join(os.tmpdir(), 'weld-bench-distro-'));

try {
  writeSyntheticDistro({ root, repoRoot, count: 1000, depth: 20 });
  // a git repo too, so reading at a ref can be timed on the same distro
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, stdio: 'ignore', env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' } });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'synthetic');
  const steps = JSON.parse(execFileSync(process.execPath, [weld, 'graph', '--json'], { cwd: root, encoding: 'utf8' })).steps.length;

  // The validated metadata is cached by content in .weld/; the cold case is the
  // first check after any change to the metadata.
  const dropCache = () => rmSync(path.join(root, '.weld'), { recursive: true, force: true });
  const cases: Case[] = [
    { label: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] },
    { label: 'weld --help', cmd: process.execPath, args: [weld, '--help'] },
    { label: 'weld check', cmd: process.execPath, args: [weld, 'check'], cwd: root },
    { label: 'weld check (no cache)', cmd: process.execPath, args: [weld, 'check'], cwd: root, before: dropCache },
    { label: 'weld graph', cmd: process.execPath, args: [weld, 'graph'], cwd: root },
    { label: 'weld check --ref main', cmd: process.execPath, args: [weld, 'check', '--ref', 'main'], cwd: root },
  ];
  const m = medians(cases, runs);
  const base = m.get('node -e 0')!;
  const goals: Record<string, number> = { 'weld --help': 1.5, 'weld check': 3, 'weld check (no cache)': 3 };
  console.log(`synthetic distro: 1000 packages, ${steps} build steps; median of ${runs} runs each`);
  for (const c of cases) {
    const ms = m.get(c.label)!;
    const ratio = ms / base;
    const goal = goals[c.label];
    console.log(`${c.label.padEnd(26)} ${ms.toFixed(0).padStart(6)} ms  ${ratio.toFixed(2)}× node -e 0${goal ? `  (goal ≤ ${goal}×: ${ratio <= goal ? 'met' : 'missed'})` : ''}`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
