import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../src/session/events.js';
import type { Metadata } from '../../src/metadata/model.js';
import { openMetadata } from '../../src/metadata/open.js';
import { PodmanBuildRunner } from '../../src/runner/podman.js';
import { openStore, type Store } from '../../src/store/store.js';
import { sampleProject, weld } from '../helpers/project.js';
import { runnerContract } from '../runner/contract.js';
import { sharedEnv } from './shared.js';

// Builds in the sample builder under podman as s390x: the runner contract, a real
// wheel with a C extension from the Debian archive, and no network inside.

describe('podman runner, s390x', () => {
  let root: string;
  let cleanup: () => void;
  let storeDir: string;
  let scratch: string;
  let env: NodeJS.ProcessEnv;
  let metadata: Metadata;
  let store: Store;
  const runner = () => new PodmanBuildRunner({ metadata, store, env });

  beforeAll(async () => {
    ({ root, cleanup } = sampleProject());
    env = sharedEnv();
    storeDir = env['WELD_STORE']!;
    scratch = mkdtempSync(path.join(os.tmpdir(), 'weld-e2e-build-'));
    for (const step of ['fetch', 'compose']) {
      const r = await weld(['env', step, 'bookworm-s390x'], { cwd: root, env });
      expect(r.code, r.stderr).toBe(0);
    }
    const md = await openMetadata({ cwd: root, cache: false });
    if (!md.ok) throw md.error;
    metadata = md.value;
    const st = await openStore({ path: storeDir });
    if (!st.ok) throw st.error;
    store = st.value;
  });
  afterAll(() => {
    cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  runnerContract({ name: 'podman (s390x)', make: runner, depsSeenAs: (d) => d.map((_, i) => `/weld/deps/${i}`), hostPids: false });

  it('cannot reach the network from a recipe', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'weld-e2e-net-'));
    try {
      for (const d of ['src', 'out', 'recipe']) mkdirSync(path.join(dir, d));
      const recipe = path.join(dir, 'recipe', 'net.sh');
      writeFileSync(recipe, 'python3 -c "import socket; socket.create_connection((\'1.1.1.1\', 53), 5)"\n');
      const lines: string[] = [];
      const r = await runner().run({ envName: 'bookworm-s390x', recipe, srcDir: path.join(dir, 'src'), outDir: path.join(dir, 'out'), depDirs: [], env: {}, jobs: 1, onLog: (l) => lines.push(l) });
      expect(r.ok).toBe(false);
      expect(lines.join('\n')).toMatch(/Network is unreachable/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('builds markupsafe into an s390x wheel; the second build runs nothing', async () => {
    const mirrored = await weld(['mirror', 'markupsafe'], { cwd: root, env });
    expect(mirrored.code, mirrored.stderr).toBe(0);
    const events = async (...extra: string[]) => {
      const r = await weld(['build', 'markupsafe', '--runner', 'podman', '--json', ...extra], { cwd: root, env });
      expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(0);
      return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as BuildEvent);
    };
    // Built now, or by an earlier e2e file into the shared store: the wheel is the same.
    const first = await events();
    const done = first.find((e): e is Extract<BuildEvent, { type: 'done' | 'cached' }> => (e.type === 'done' || e.type === 'cached') && e.subject.name === 'markupsafe');
    expect(done?.subject.name).toBe('markupsafe');
    const wheel = done!.data.outputs.find((o) => o.name.endsWith('.whl'))!;
    // repaired in the builder: the most compatible manylinux tag its symbol versions allow
    expect(wheel.name).toMatch(/^MarkupSafe-2\.1\.2-cp311-cp311-manylinux_2_\d+_s390x(\.manylinux2014_s390x)?\.whl$/);
    // the C extension inside is an IBM S/390 ELF (e_machine 22, big-endian)
    const whl = path.join(scratch, 'check.whl');
    writeFileSync(whl, execFileSync(process.execPath, ['bin/weld', 'store', 'cat', wheel.digest, '--store', storeDir], { cwd: path.resolve(import.meta.dirname, '../..'), maxBuffer: 1 << 26 }));
    // python3's zipfile reads the wheel (python3 is on every machine of this kind; unzip need not be)
    const members = execFileSync('python3', ['-c', 'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', whl], { encoding: 'utf8' }).split('\n');
    const so = members.find((m) => /^markupsafe\/_speedups\..*\.so$/.test(m))!;
    expect(so).toMatch(/s390x-linux-gnu/);
    const elf = execFileSync('python3', ['-c', 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))', whl, so]);
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(elf.readUInt16BE(18)).toBe(22);
    const second = await events();
    expect(second.some((e) => e.type === 'started')).toBe(false);
    expect(second.find((e) => e.type === 'cached')).toMatchObject({ subject: { name: 'markupsafe' } });
    // reproducible: a clean rebuild in a fresh container gives the same bytes
    const check = await events('--check');
    expect(check.find((e) => e.type === 'done')).toMatchObject({ subject: { name: 'markupsafe' }, data: { check: { compared: true, match: true } } });
  });

  it('builds the libyaml pack (autotools) into a prefix of S/390 shared objects', async () => {
    const mirrored = await weld(['mirror', 'libyaml'], { cwd: root, env });
    expect(mirrored.code, mirrored.stderr).toBe(0);
    const r = await weld(['build', 'libyaml', '--runner', 'podman', '--json'], { cwd: root, env });
    expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(0);
    const done = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as BuildEvent).find((e): e is Extract<BuildEvent, { type: 'done' | 'cached' }> => (e.type === 'done' || e.type === 'cached') && e.subject.name === 'libyaml');
    const prefix = done!.data.outputs.find((o) => o.name === 'prefix.tar')!;
    const tarFile = path.join(scratch, 'prefix.tar');
    writeFileSync(tarFile, execFileSync(process.execPath, ['bin/weld', 'store', 'cat', prefix.digest, '--store', storeDir], { cwd: path.resolve(import.meta.dirname, '../..'), maxBuffer: 1 << 26 }));
    const names = execFileSync('tar', ['-tf', tarFile], { encoding: 'utf8' }).split('\n');
    // weld's own tar writer names members without GNU tar's ./ prefix
    expect(names).toContain('include/yaml.h');
    const lib = names.find((n) => /^lib\/libyaml-0\.so\.2\.\d+\.\d+$/.test(n))!;
    const elf = execFileSync('tar', ['-xOf', tarFile, lib]);
    expect(elf.readUInt16BE(18)).toBe(22);
  });
});

// podman may keep containers of aborted runs around only if removal failed: none must be left.
afterAll(() => {
  const left = spawnSync('podman', ['ps', '-a', '--filter', 'name=weld-build-', '--format', '{{.Names}}'], { encoding: 'utf8' });
  expect(left.stdout.trim()).toBe('');
});
