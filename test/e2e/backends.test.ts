import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Metadata } from '../../src/metadata/model.js';
import { openMetadata } from '../../src/metadata/open.js';
import { formatBackends } from '../../src/runner/backends/config.js';
import { BackendPool } from '../../src/runner/backends/pool.js';
import { PoolRunner } from '../../src/runner/backends/pool-runner.js';
import { openStore, type Store } from '../../src/store/store.js';
import { eventStream } from '../helpers/event-lines.js';
import { hostContainersConf, podmanService, type PodmanService } from '../helpers/podman-services.js';
import { sampleProject, weld } from '../helpers/project.js';
import { runnerContract } from '../runner/contract.js';
import { sharedEnv } from './shared.js';

// Build backends for s390x under qemu: two podman engines (podman system service, storage
// of their own) building in the sample's real builder env, loaded onto each through the
// API from the store. The runner contract on a backend, and a real wheel with a C
// extension rebuilt on the backends (`weld build --check`) to the bytes of its record.

describe('build backends, s390x', () => {
  let root: string;
  let cleanup: () => void;
  let scratch: string;
  let env: NodeJS.ProcessEnv;
  let metadata: Metadata;
  let store: Store;
  let a: PodmanService;
  let b: PodmanService;

  beforeAll(async () => {
    ({ root, cleanup } = sampleProject());
    env = sharedEnv();
    scratch = mkdtempSync(path.join(os.tmpdir(), 'weld-e2e-backends-'));
    for (const step of ['fetch', 'compose']) {
      const r = await weld(['env', step, 'bookworm-s390x'], { cwd: root, env });
      expect(r.code, r.stderr).toBe(0);
    }
    const md = await openMetadata({ cwd: root, cache: false });
    if (!md.ok) throw md.error;
    metadata = md.value;
    const st = await openStore({ path: env['WELD_STORE']! });
    if (!st.ok) throw st.error;
    store = st.value;
    const podmanEnv = hostContainersConf(root);
    [a, b] = await Promise.all([podmanService({ dir: scratch, name: 'a', env: podmanEnv }), podmanService({ dir: scratch, name: 'b', env: podmanEnv })]);
    writeFileSync(path.join(scratch, 'backends.toml'), formatBackends([a, b].map((s) => ({ name: s.name, url: s.url, arch: 's390x', labels: { engine: s.name }, maxJobs: 2 }))));
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  runnerContract({
    name: 'podman backend (s390x under qemu)',
    make: () => new PoolRunner({ pool: new BackendPool({ backends: [{ name: 'a', url: a.url, arch: 's390x', labels: {}, maxJobs: 2 }] }), context: { metadata, store, env } }),
    depsSeenAs: (d) => d.map((_, i) => `/weld/deps/${i}`),
    hostPids: false,
  });

  it('runs s390x on the engine, with the network off', async () => {
    const dir = mkdtempSync(path.join(scratch, 'run-'));
    for (const d of ['src', 'out', 'recipe']) mkdirSync(path.join(dir, d));
    const recipe = path.join(dir, 'recipe', 'probe.sh');
    writeFileSync(recipe, 'uname -m\npython3 -c "import socket; socket.create_connection((\'1.1.1.1\', 53), 5)" 2>&1 | tail -1\n');
    const lines: string[] = [];
    const runner = new PoolRunner({ pool: new BackendPool({ backends: [{ name: 'b', url: b.url, arch: 's390x', labels: {}, maxJobs: 1 }] }), context: { metadata, store, env } });
    const r = await runner.run({ envName: 'bookworm-s390x', recipe, srcDir: path.join(dir, 'src'), outDir: path.join(dir, 'out'), depDirs: [], env: {}, jobs: 1, onLog: (l) => lines.push(l) });
    expect(r.ok).toBe(true);
    expect(lines[0]).toBe('s390x');
    expect(lines[1]).toMatch(/Network is unreachable/);
  });

  it('rebuilds markupsafe on a backend to the bytes this host built', async () => {
    const mirrored = await weld(['mirror', 'markupsafe'], { cwd: root, env });
    expect(mirrored.code, mirrored.stderr).toBe(0);
    const local = await weld(['build', 'markupsafe', '--no-test'], { cwd: root, env });
    expect(local.code, local.stderr).toBe(0);
    const remote = await weld(['build', 'markupsafe', '--check', '--no-test', '--json', '--backends', path.join(scratch, 'backends.toml'), '--backend-selector', 'engine=b'], { cwd: root, env });
    expect(remote.code, remote.stdout.slice(-3000) + remote.stderr).toBe(0);
    const events = eventStream(remote.stdout).events;
    expect(events.filter((e) => e.type === 'placed').map((e) => (e.data as { backend: string; step: string }).backend)).toEqual(['b', 'b']); // the build and its wheel repair
    const done = events.find((e) => e.type === 'done')!.data as { check: { compared: boolean; match: boolean; differences: string[] } };
    expect(done.check).toEqual({ compared: true, match: true, differences: [] });
  });
});
