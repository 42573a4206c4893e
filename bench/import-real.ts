import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Issue 18's real run, as a new user would do it: test/e2e/fixtures/import-real/
// requirements.txt (real projects whose .orig this machine's Debian archive serves) is
// imported into a copy of the sample distro, checked, mirrored, built for s390x under
// podman and composed (`weld up`), and then the runtime image's own pip installs every
// imported project from the wheelhouse, network off, and imports each one's modules.
// It takes the machine for a long time (every build runs under qemu), so it is a bench,
// not a CI suite: `npm run bench:import-real`. WELD_REAL_STAGES=import,check,mirror stops
// early (no podman needed).

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const weld = path.join(repoRoot, 'bin/weld');
const fixture = path.join(repoRoot, 'test/e2e/fixtures/import-real/requirements.txt');
const stages = new Set((process.env['WELD_REAL_STAGES'] ?? 'import,check,mirror,up,pip').split(','));

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; echo?: boolean }): Promise<Ran> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => ((stdout += d), opts.echo && process.stdout.write(d)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => ((stderr += d), opts.echo && process.stderr.write(d)));
    child.on('close', (code) => resolve({ code, stdout, stderr, seconds: Number(process.hrtime.bigint() - t0) / 1e9 }));
  });
}

const root = mkdtempSync(path.join(os.tmpdir(), 'weld-import-real-'));
const times: Array<[string, number]> = [];
const step = async (label: string, args: string[], echo = false): Promise<Ran> => {
  console.log(`== weld ${args.join(' ')}`);
  const r = await run(process.execPath, [weld, ...args], { cwd: root, echo });
  times.push([label, r.seconds]);
  if (r.code !== 0) {
    console.log(r.stdout.slice(-4000));
    console.error(r.stderr.slice(-4000));
    throw new Error(`weld ${args.join(' ')} failed (${r.code}) after ${r.seconds.toFixed(1)} s`);
  }
  return r;
};

try {
  for (const d of ['metadata', 'recipes']) cpSync(path.join(repoRoot, d), path.join(root, d), { recursive: true });
  cpSync(fixture, path.join(root, 'requirements.txt'));
  const before = new Set(readFileSync(fixture, 'utf8').split('\n').filter((l) => l && !l.startsWith('#')));
  console.log(`real run in ${root}: ${before.size} requirements`);
  let imported: Array<{ package: string; version: string; file: string; kind: string; from: string }> = [];
  if (stages.has('import')) {
    const r = await step('import', ['import', '--sources', 'debian', '--suite', 'trixie', '--json', 'requirements.txt']);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { data: { files: typeof imported; present: unknown[]; unresolved: unknown[]; warnings: string[] } };
    imported = summary.data.files;
    console.log(`imported ${imported.length} (${imported.filter((f) => f.kind === 'pack').length} packs), already present ${summary.data.present.length}, unresolved ${summary.data.unresolved.length}, warnings ${summary.data.warnings.length}`);
    for (const w of summary.data.warnings) console.log(`  warning: ${w}`);
  }
  if (stages.has('check')) console.log((await step('check', ['check'])).stdout.trim());
  if (stages.has('mirror')) console.log((await step('mirror', ['mirror', '--all'])).stdout.trim().split('\n').at(-1));
  if (stages.has('up')) {
    const up = await step('up (envs, build for s390x, composes)', ['up'], true);
    console.log(up.stdout.trim().split('\n').slice(-8).join('\n'));
  }
  if (stages.has('pip')) {
    // the runtime image and podman's settings, as weld set them up
    const envLs = JSON.parse((await step('env ls', ['env', 'ls', '--json'])).stdout) as Array<{ env: string; tag: string | null }>;
    const tag = envLs.find((e) => e.env === 'bookworm-s390x-runtime')?.tag;
    if (!tag) throw new Error('no runtime image tag in weld env ls --json');
    const wheelhouse = path.join(root, 'out/wheelhouse/default');
    const names = imported.filter((f) => f.kind === 'wheel').map((f) => f.package);
    const modules = imported
      .filter((f) => f.kind === 'wheel')
      .flatMap((f) => {
        const m = /^imports = \[(.*)\]$/m.exec(readFileSync(path.join(root, f.file), 'utf8'));
        return m ? [...m[1]!.matchAll(/"([^"]+)"/g)].map((x) => x[1]!) : [];
      });
    const script = `python3 -m pip install --no-cache-dir --disable-pip-version-check --break-system-packages --index-url file:///wheelhouse/simple ${names.join(' ')} && python3 -c 'import ${modules.join(', ')}; print("imported", ${modules.length}, "modules")'`;
    const conf = path.join(root, '.weld/podman/containers.conf');
    const env = { ...process.env, ...(readFileSafe(conf) ? { CONTAINERS_CONF: conf } : {}) };
    console.log(`== podman run ${tag}: pip install ${names.length} projects from the wheelhouse, network off`);
    const pip = await run('podman', ['run', '--rm', '--arch', 's390x', '--network=none', '-v', `${wheelhouse}:/wheelhouse:ro`, tag, 'sh', '-c', script], { cwd: root, env, echo: true });
    times.push(['pip install in the runtime image', pip.seconds]);
    if (pip.code !== 0) throw new Error(`pip install failed (${pip.code})`);
  }
  console.log('times:');
  for (const [label, s] of times) console.log(`  ${label.padEnd(40)} ${s.toFixed(1)} s`);
} finally {
  if (!process.env['WELD_REAL_KEEP']) rmSync(root, { recursive: true, force: true });
  else console.log(`kept ${root}`);
}

function readFileSafe(f: string): string | undefined {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return undefined;
  }
}
