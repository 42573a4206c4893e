// Image benchmark: weld's wheel installer (open, verify RECORD, install, write the
// deterministic layer tar) against `pip install --target` of the same wheels (no deps,
// no index, no byte-compiling), both from warm page caches, in one run. The wheels are
// synthetic pure-Python ones made by python3's zipfile. pip's time includes starting
// its interpreter (~0.3 s here), weld's the Node process that runs it.
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { installWheel, mergeInstalls } from '../src/compose/image/install.js';
import { installLayerEntries } from '../src/compose/image/layer.js';
import { debianScheme } from '../src/compose/image/scheme.js';
import { openWheel } from '../src/compose/image/wheel.js';
import { tarChunks } from '../src/archive/tar-write.js';
import { medians } from './timing.js';

const WHEELS = Number(process.env['BENCH_WHEELS'] ?? 40);
const FILES = Number(process.env['BENCH_FILES'] ?? 150);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);

const MAKE = `
import base64, hashlib, os, sys, zipfile
out, wheels, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for w in range(wheels):
    dist = f"pkg{w}"
    info = f"{dist}-1.0.dist-info"
    members = {f"{dist}/m{i}.py": (f"# module {i}\\n" + "x = 1\\n" * (40 + i % 200)).encode() for i in range(files)}
    members[f"{info}/METADATA"] = f"Metadata-Version: 2.1\\nName: {dist}\\nVersion: 1.0\\n".encode()
    members[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    members[f"{info}/entry_points.txt"] = f"[console_scripts]\\n{dist} = {dist}.m0:main\\n".encode()
    rows = [f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},{len(d)}" for n, d in members.items()]
    members[f"{info}/RECORD"] = ("\\n".join(rows) + f"\\n{info}/RECORD,,\\n").encode()
    with zipfile.ZipFile(os.path.join(out, f"{dist}-1.0-py3-none-any.whl"), "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in members.items():
            z.writestr(n, d)
`;

async function weldInstall(dir: string, layer: string): Promise<number> {
  const scheme = debianScheme('3.11');
  const installs = [];
  for (const f of readdirSync(dir).sort()) {
    const wheel = await openWheel({ file: f, bytes: readFileSync(path.join(dir, f)) });
    if (!wheel.ok) throw wheel.error;
    const files = installWheel({ wheel: wheel.value, scheme });
    if (!files.ok) throw files.error;
    installs.push(files.value);
  }
  const merged = mergeInstalls(installs);
  if (!merged.ok) throw merged.error;
  await pipeline(Readable.from(tarChunks(installLayerEntries(merged.value), { mtime: 0 })), createWriteStream(layer));
  return merged.value.length;
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'weld-bench-image-'));
  try {
    const wheels = path.join(work, 'wheels');
    execFileSync('mkdir', ['-p', wheels]);
    execFileSync('python3', ['-c', MAKE, wheels, String(WHEELS), String(FILES)]);
    const files = readdirSync(wheels).map((f) => path.join(wheels, f));
    for (const f of files) readFileSync(f);
    const target = path.join(work, 'target');
    const pip = medians([{ label: 'pip', cmd: 'python3', args: ['-m', 'pip', 'install', '--quiet', '--no-deps', '--no-index', '--no-compile', '--disable-pip-version-check', '--no-warn-script-location', '--target', target, ...files], before: () => rmSync(target, { recursive: true, force: true }) }], RUNS).get('pip')!;
    const samples: number[] = [];
    let installed = 0;
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      installed = await weldInstall(wheels, path.join(work, 'layer.tar'));
      samples.push(performance.now() - t0);
    }
    const weld = samples.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
    const bytes = files.reduce((n, f) => n + readFileSync(f).length, 0);
    console.log(`image install: ${WHEELS} wheels of ${FILES} modules (${(bytes / 2 ** 20).toFixed(1)} MiB zipped, ${installed} files installed); median of ${RUNS} runs`);
    console.log(`  pip install --target (subprocess)        ${(pip / 1000).toFixed(2)} s`);
    console.log(`  weld install + layer tar (in process)    ${(weld / 1000).toFixed(2)} s`);
    console.log(`  ratio weld / pip                         ${(weld / pip).toFixed(2)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
