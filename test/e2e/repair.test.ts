import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../src/session/events.js';
import { findComposed } from '../../src/envs/compose.js';
import { loadEnvImage } from '../../src/envs/compose.js';
import { openMetadata } from '../../src/metadata/open.js';
import { Podman } from '../../src/podman/podman.js';
import { openStore } from '../../src/store/store.js';
import type { BuildRecord } from '../../src/store/records.js';
import { sampleProject, weld } from '../helpers/project.js';
import { sharedEnv } from './shared.js';

// Wheel repair for real: the sample pyyaml (against the libyaml pack) and markupsafe,
// built for s390x under podman and repaired in the builder, then installed into the
// runtime image, which has no libyaml: the grafted copy is what makes _yaml load.

describe('wheel repair, s390x', () => {
  let root: string;
  let cleanup: () => void;
  let storeDir: string;
  let env: NodeJS.ProcessEnv;
  // built here, or by an earlier e2e file into the shared store
  const done = new Map<string, Extract<BuildEvent, { type: 'done' | 'cached' }>>();

  beforeAll(async () => {
    ({ root, cleanup } = sampleProject());
    env = sharedEnv();
    storeDir = env['WELD_STORE']!;
    for (const e of ['bookworm-s390x', 'bookworm-s390x-runtime']) {
      for (const step of ['fetch', 'compose']) {
        const r = await weld(['env', step, e], { cwd: root, env });
        expect(r.code, r.stderr).toBe(0);
      }
    }
    const mirrored = await weld(['mirror', 'libyaml', 'pyyaml', 'markupsafe'], { cwd: root, env });
    expect(mirrored.code, mirrored.stderr).toBe(0);
    const r = await weld(['build', 'pyyaml', 'markupsafe', '--runner', 'podman', '--json'], { cwd: root, env });
    expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(0);
    for (const e of r.stdout.trim().split('\n').map((l) => JSON.parse(l) as BuildEvent)) if (e.type === 'done' || e.type === 'cached') done.set(e.subject.name, e);
  });
  afterAll(() => cleanup());

  const record = async (pkg: string): Promise<BuildRecord> => {
    const store = await openStore({ path: storeDir, create: false });
    if (!store.ok) throw store.error;
    const r = await store.value.getRecord('build', done.get(pkg)!.data.key);
    if (!r.ok || !r.value) throw new Error(`no record for ${pkg}`);
    return r.value.data;
  };
  const blobPath = (digest: string) => path.join(storeDir, 'blobs/sha256', digest.slice(7, 9), digest.slice(9));

  it('tags markupsafe manylinux_2_N_s390x (with the manylinux2014 alias when N is 17)', async () => {
    const wheel = done.get('markupsafe')!.data.outputs[0]!.name;
    const m = /^MarkupSafe-2\.1\.2-cp311-cp311-manylinux_2_(\d+)_s390x(\.manylinux2014_s390x)?\.whl$/.exec(wheel);
    expect(m, wheel).not.toBeNull();
    expect(m![2] !== undefined).toBe(m![1] === '17');
    const rec = await record('markupsafe');
    expect(rec.repair).toMatchObject({ policy: 'manylinux', wheels: [{ action: 'repaired', grafted: [], output: wheel }] });
  });

  it('grafts libyaml into the pyyaml wheel, which then works in the runtime image without libyaml', async () => {
    const rec = await record('pyyaml');
    const wheel = rec.repair!.wheels[0]!;
    expect(wheel.output).toMatch(/^(PyYAML|pyyaml)-6\.0\.2-cp311-cp311-manylinux_2_\d+_s390x(\.manylinux2014_s390x)?\.whl$/);
    expect(wheel.grafted).toEqual([{ soname: 'libyaml-0.so.2', file: expect.stringMatching(/^(PyYAML|pyyaml)\.libs\/libyaml-0-[0-9a-f]{8}\.so\.2$/) as string, source: { dependency: 'libyaml', path: 'lib/libyaml-0.so.2' } }]);

    const wheels = mkdtempSync(path.join(os.tmpdir(), 'weld-e2e-wheels-'));
    try {
      for (const pkg of ['pyyaml', 'markupsafe']) for (const o of done.get(pkg)!.data.outputs) copyFileSync(blobPath(o.digest), path.join(wheels, o.name));
      const md = await openMetadata({ cwd: root, cache: false });
      if (!md.ok) throw md.error;
      const store = await openStore({ path: storeDir, create: false });
      if (!store.ok) throw store.error;
      const composed = await findComposed({ env: md.value.envs.get('bookworm-s390x-runtime')!, store: store.value });
      expect(composed).toBeDefined();
      const podman = Podman.open({ root, arch: 's390x', env });
      if (!podman.ok) throw podman.error;
      const loaded = await loadEnvImage({ image: composed!, store: store.value, podman: podman.value });
      expect(loaded.ok).toBe(true);
      const script = [
        'set -e',
        // the runtime image has no libyaml of its own
        'if ls /usr/lib/s390x-linux-gnu/libyaml* /lib/s390x-linux-gnu/libyaml* 2>/dev/null; then echo "libyaml is in the image" >&2; exit 3; fi',
        'python3 -m pip install --no-index --no-deps --break-system-packages --disable-pip-version-check /w/*.whl',
        'python3 -c "import yaml; assert yaml.__with_libyaml__; assert yaml.load(\'a: [1, 2]\', Loader=yaml.CSafeLoader) == {\'a\': [1, 2]}; import markupsafe._speedups; print(\'with libyaml:\', yaml.__with_libyaml__)"',
      ].join('\n');
      const r = await podman.value.run({ image: composed!.tag, cmd: ['/bin/sh', '-c', script], mounts: [{ host: wheels, container: '/w', readOnly: true }], env: { HOME: '/tmp' } });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('with libyaml: True');
    } finally {
      rmSync(wheels, { recursive: true, force: true });
    }
  });
});
