// Test-step benchmark (issue: every wheel tested on its arch). weld's test step against
// the same work done by hand: `podman run --arch s390x --network=none` of the runtime
// image, python3 unpacking the wheel and importing its modules. Both from warm caches,
// round-robin, in one run. weld's figure is the whole `weld test pyyaml` command (Node
// start, metadata, plan, the container, the log and the record); a varied [test] spec
// each run (one more `yaml` in imports, a no-op import) makes every run a new test key.
//
// With WELD_BENCH_BUILD=1 it also times the sample's `weld build --all --check --jobs 2`
// with and without tests (--check rebuilds everything; the specs are varied so every test
// runs): minutes under qemu, so only when asked.
//
// Needs the sample built: it runs `weld up` in the repository first (a no-op once done).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = process.cwd();
const WELD = path.join(ROOT, 'bin/weld');
const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);

function run(cmd: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { ms: number; stdout: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: o.cwd ?? ROOT, env: o.env ?? process.env, encoding: 'utf8', maxBuffer: 1 << 28 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  return { ms, stdout: r.stdout };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log('bench:test-step: making sure the sample is built (weld up)…');
run(process.execPath, [WELD, 'up', '--jobs', '2']);

// A copy of the project sharing the repository's store and mirrors: its [test] specs vary.
const tmp = mkdtempSync(path.join(tmpdir(), 'weld-bench-test-'));
const project = path.join(tmp, 'project');
for (const d of ['metadata', 'recipes']) cpSync(path.join(ROOT, d), path.join(project, d), { recursive: true });
const env = { ...process.env, WELD_STORE: path.join(ROOT, 'store'), WELD_MIRRORS: path.join(ROOT, 'mirrors') };
const conf = path.join(ROOT, '.weld/podman/containers.conf');
const podmanEnv = existsSync(conf) && !process.env['CONTAINERS_CONF'] ? { ...process.env, CONTAINERS_CONF: conf } : process.env;

const setImports = (pkg: string, imports: string[]) => {
  const file = path.join(project, 'metadata/packages', `${pkg}.toml`);
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.replace(/^imports = \[.*\]$/m, `imports = [${imports.map((m) => `"${m}"`).join(', ')}]`));
};

const imageLine = execFileSync('podman', ['images', '--format', '{{.Repository}}:{{.Tag}}'], { env: podmanEnv, encoding: 'utf8' })
  .split('\n')
  .find((l) => l.includes('bookworm-s390x-runtime'));
if (!imageLine) throw new Error('no runtime env image in podman: run `weld env compose bookworm-s390x-runtime`');
const wheelsDir = path.join(ROOT, 'out/wheelhouse/default/wheels');
const wheel = readdirSync(wheelsDir).find((f) => /^PyYAML-.*\.whl$/.test(f));
if (!wheel) throw new Error(`no PyYAML wheel in ${wheelsDir}`);
const HAND = `import sys, zipfile; zipfile.ZipFile("/w/${wheel}").extractall("/tmp/site"); sys.path.insert(0, "/tmp/site"); import yaml, yaml._yaml; print("ok")`;

const weldMs: number[] = [];
const handMs: number[] = [];
for (let i = 0; i < RUNS; i++) {
  setImports('pyyaml', ['yaml', 'yaml._yaml', ...Array<string>(i + 1).fill('yaml')]);
  const w = run(process.execPath, [WELD, 'test', 'pyyaml', '--jobs', '1'], { cwd: project, env });
  if (!/tested in [\d.]+ s/.test(w.stdout)) throw new Error(`weld test did not run the test:\n${w.stdout}`);
  weldMs.push(w.ms);
  const h = run('podman', ['run', '--rm', '--arch', 's390x', '--network=none', '-v', `${wheelsDir}:/w:ro`, imageLine, 'python3', '-c', HAND], { env: podmanEnv });
  if (h.stdout.trim() !== 'ok') throw new Error(`the hand-made run printed ${h.stdout}`);
  handMs.push(h.ms);
}
const w = median(weldMs);
const h = median(handMs);
console.log(`test step, pyyaml (imports yaml, yaml._yaml) on s390x, median of ${RUNS}:`);
console.log(`  weld test pyyaml                         ${(w / 1000).toFixed(2)} s`);
console.log(`  podman run … python3 -c "import …"      ${(h / 1000).toFixed(2)} s`);
console.log(`  ratio ${(w / h).toFixed(2)}×, overhead ${(((w - h) / h) * 100).toFixed(1)}% (goal: under 10%)`);

if (process.env['WELD_BENCH_BUILD'] === '1') {
  const wheels = ['jinja2', 'markupsafe', 'msgpack', 'pyyaml', 'toml'];
  const tests = new Map(wheels.map((p) => [p, /^imports = \[(.*)\]$/m.exec(readFileSync(path.join(project, 'metadata/packages', `${p}.toml`), 'utf8'))?.[1] ?? '']));
  const noTest = run(process.execPath, [WELD, 'build', '--all', '--check', '--jobs', '2', '--no-test'], { cwd: project, env });
  // every spec changes, so every test runs
  for (const p of wheels) {
    const first = tests.get(p)!.split(',')[0]!.trim().replace(/"/g, '');
    setImports(p, [...tests.get(p)!.split(',').map((m) => m.trim().replace(/"/g, '')), first, first]);
  }
  const withTest = run(process.execPath, [WELD, 'build', '--all', '--check', '--jobs', '2'], { cwd: project, env });
  console.log(`weld build --all --check --jobs 2 of the sample (every package rebuilt under qemu):`);
  console.log(`  --no-test    ${(noTest.ms / 1000).toFixed(1)} s`);
  console.log(`  with tests   ${(withTest.ms / 1000).toFixed(1)} s  (${withTest.stdout.trim().split('\n').at(-1)})`);
  console.log(`  ratio ${(withTest.ms / noTest.ms).toFixed(2)}×`);
}
rmSync(tmp, { recursive: true, force: true });
