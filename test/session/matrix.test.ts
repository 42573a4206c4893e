import { cpSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunnerInfo } from '../../src/runner/runner.js';
import { openMatrix, runMatrix } from '../../src/session/matrix.js';
import type { BuildRecord } from '../../src/store/records.js';
import type { Store } from '../../src/store/store.js';
import { buildProject, type BuildProject, type FixturePackage } from '../helpers/build-project.js';
import { FakeRunner, type FakeProgram } from '../helpers/fake-runner.js';
import { REPO_ROOT } from '../helpers/project.js';
import { freshStore, tempDir } from '../helpers/store-temp.js';

// A matrix build with real mirrors and a real store (the runner is the fake): two targets,
// each package built per target, a pure wheel built once and recorded for the other target.

/** The fake's env image and arch follow the env, as podman's do: each target keys its own builds. */
class EnvRunner extends FakeRunner {
  override async info(o: { env?: string } = {}): Promise<RunnerInfo> {
    const arch = o.env?.includes('ppc64el') ? 'ppc64el' : 's390x';
    return { arch, envImage: { runner: 'fake', env: o.env ?? '' }, warnings: [] };
  }
}

const PACKAGES: FixturePackage[] = [
  // a pack: built per target like a platform wheel, and not handed to the repair step (the fake runs recipes only)
  { name: 'native', kind: 'pack', recipe: 'fake', files: { payload: 'native-1' } },
  { name: 'pure', recipe: 'fake', requires: ['native'], files: { payload: 'pure-1' } },
];

const produce: FakeProgram = async (c) => {
  const payload = await readFile(path.join(c.spec.srcDir, 'payload'), 'utf8');
  const arch = c.spec.envName.includes('ppc64el') ? 'ppc64le' : 's390x';
  if (c.pkg === 'native') await c.write('prefix/lib/libnative.txt', `${payload} for ${arch}`);
  else await c.write('wheels/pure-1.0-py3-none-any.whl', payload);
  return 0;
};

describe('matrix builds (fake runner)', () => {
  let project: BuildProject;
  let store: Store;
  let cleanupStore: () => Promise<void>;

  beforeAll(async () => {
    project = await buildProject({ packages: PACKAGES, recipes: { fake: '#!/bin/sh\nexit 0\n' } });
    cpSync(path.join(REPO_ROOT, 'test/fixtures/matrix/metadata/envs'), path.join(project.root, 'metadata/envs'), { recursive: true });
    writeFileSync(
      path.join(project.root, 'metadata/weld.toml'),
      '[distro]\nname = "t"\n\n[[target]]\nname = "z"\nenv = "bookworm-s390x"\n\n[[target]]\nname = "p"\narch = "ppc64el"\nenv = "bookworm-ppc64el"\n\n[sources]\nallow_paths = ["../releases"]\n',
    );
    const t = await tempDir();
    cleanupStore = t.cleanup;
    store = await freshStore(t.dir);
  });
  afterAll(async () => {
    await cleanupStore();
    project.cleanup();
  });

  const run = async (runner: FakeRunner) => {
    const metadata = await project.metadata();
    const runs = openMatrix({ metadata, targets: metadata.distro.targets, packages: ['native', 'pure'], store, runner, mirrorsDir: path.join(project.root, 'mirrors'), weldVersion: '0.0.0-test' });
    const names: string[] = [];
    const r = await runMatrix(runs, { mode: 'build', matrix: true, jobs: 2, noTest: true, workRoot: os.tmpdir(), onEvent: (e) => e.subject && names.push(`${e.type}:${e.subject.name}:${e.subject.target}`) });
    if (!r.ok) throw r.error;
    return { summary: r.value, names };
  };

  it('builds each package per target and the pure wheel once; a second run builds nothing', async () => {
    const runner = new EnvRunner(produce);
    const { summary, names } = await run(runner);
    expect(summary.built).toEqual(['native@p', 'native@z', 'pure@z']);
    expect(summary.shared).toEqual(['pure@p']);
    expect(runner.started.sort()).toEqual(['native', 'native', 'pure']);
    expect(names).toContain('cached:pure@p:p');
    const listed = await store.listRecords({ kind: 'build' });
    if (!listed.ok) throw listed.error;
    const records = listed.value.map((r) => (r.ok ? (r.value.data as BuildRecord) : undefined)).filter((r): r is BuildRecord => r !== undefined);
    const pures = records.filter((r) => r.package === 'pure');
    expect(pures).toHaveLength(2);
    const [made, taken] = pures[0]!.sharedFrom ? [pures[1]!, pures[0]!] : [pures[0]!, pures[1]!];
    expect(taken.sharedFrom).toEqual({ cacheKey: made.cacheKey, arch: 's390x', envImage: made.envImage });
    expect(taken.arch).toBe('ppc64el');
    expect(taken.outputs).toEqual(made.outputs);
    // what pure@p was keyed on: ppc64el's native wheel, not s390x's
    const nativeP = records.find((r) => r.package === 'native' && r.arch === 'ppc64el')!;
    expect(taken.dependencies['native']).toEqual(nativeP.outputs.map((o) => o.digest));

    const again = new EnvRunner(produce);
    const second = await run(again);
    expect(second.summary.built).toEqual([]);
    expect(second.summary.cached.sort()).toEqual(['native@p', 'native@z', 'pure@p', 'pure@z']);
    expect(again.started).toEqual([]);
  });
});
