import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../src/session/events.js';
import { openStore } from '../../src/store/store.js';
import type { BuildRecord } from '../../src/store/records.js';
import { buildProject, type BuildProject } from '../helpers/build-project.js';
import { cextWheelRecipe, DEMO_PACK_RECIPE, FIXTURE, hostTags } from '../helpers/cext.js';
import { weld } from '../helpers/project.js';
import { readZip } from '../helpers/zip.js';

// The repair step inside real builds (local runner): a pack builds libdemo, a wheel recipe
// links a CPython extension against it, and weld repairs the wheel before storing it.

const PACK = DEMO_PACK_RECIPE;
const WHEEL = cextWheelRecipe({ getrandom: true });

describe('the wheel repair step in weld build (local runner)', () => {
  let project: BuildProject;
  const { arch, suffix } = hostTags();
  beforeAll(async () => {
    const src = (names: string[]) => Object.fromEntries(names.map((n) => [n, readFileSync(path.join(FIXTURE, n), 'utf8')]));
    project = await buildProject({
      packages: [
        { name: 'demo', kind: 'pack', recipe: 'demo-pack', files: src(['demo.c']) },
        { name: 'weldcext', recipe: 'cext-wheel', requires: ['demo'], files: src(['_ext.c', 'mkwheel.py', 'weldcext/__init__.py']) },
      ],
      recipes: { 'demo-pack': PACK, 'cext-wheel': WHEEL },
    });
  });
  afterAll(() => project.cleanup());

  const storeDir = () => path.join(project.root, 'store');
  const cli = (argv: string[]) => weld(argv, { cwd: project.root, env: { WELD_STORE: storeDir(), WELD_RUNNER: 'local' } });
  const events = (stdout: string) => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as BuildEvent);
  const record = async (key: string): Promise<BuildRecord> => {
    const store = await openStore({ path: storeDir(), create: false });
    if (!store.ok) throw store.error;
    const r = await store.value.getRecord('build', key);
    if (!r.ok || !r.value) throw new Error(`no record ${key}`);
    return r.value.data;
  };
  const blob = (digest: string) => readFileSync(path.join(storeDir(), 'blobs/sha256', digest.slice(7, 9), digest.slice(9)));

  it('stores the repaired wheel, and records and attests what the repair did', async () => {
    const r = await cli(['build', 'weldcext', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const done = events(r.stdout).find((e) => e.type === 'done' && e.subject.name === 'weldcext');
    if (done?.type !== 'done') throw new Error('no done event');
    const { outputs, key } = done.data;
    expect(outputs.map((o) => o.name)).toEqual([`weldcext-1.0-cp311-cp311-manylinux_2_26_${arch}.whl`]);
    const rec = await record(key);
    expect(rec.repair).toMatchObject({
      policy: 'manylinux',
      wheels: [
        {
          input: `weldcext-1.0-cp311-cp311-linux_${arch}.whl`,
          output: `weldcext-1.0-cp311-cp311-manylinux_2_26_${arch}.whl`,
          tag: `manylinux_2_26_${arch}`,
          action: 'repaired',
          grafted: [{ soname: 'libdemo.so.1', file: expect.stringMatching(/^weldcext\.libs\/libdemo-[0-9a-f]{8}\.so\.1$/) as string, source: { dependency: 'demo', path: 'lib/libdemo.so.1' } }],
          setBy: [`GLIBC_2.25, used by weldcext/_ext${suffix}, is newer than glibc 2.24 provides`],
        },
      ],
    });
    const report = JSON.parse(blob(rec.repair!.report!).toString()) as { policy: string; wheels: Array<{ versions: Record<string, string[]> }> };
    expect(report.policy).toBe('manylinux');
    expect(Object.keys(report.wheels[0]!.versions)).toContain('GLIBC_2.25');
    const entries = await readZip(path.join(storeDir(), 'blobs/sha256', outputs[0]!.digest.slice(7, 9), outputs[0]!.digest.slice(9)));
    expect(entries.map((e) => e.name)).toContain(rec.repair!.wheels[0]!.grafted[0]!.file);
    const prov = JSON.parse(blob(rec.provenance!).toString()) as { predicate: { buildDefinition: { externalParameters: Record<string, unknown>; resolvedDependencies: Array<{ name: string; digest: { sha256: string } }> }; runDetails: { byproducts: Array<{ name: string; digest: { sha256: string }; annotations: { policy: string; wheels: unknown[] } }> } } };
    expect(prov.predicate.buildDefinition.externalParameters['repairPolicy']).toBe('manylinux');
    expect(prov.predicate.buildDefinition.resolvedDependencies.find((d) => d.name === 'repair-program')?.digest.sha256).toBe(rec.repair!.program.slice(7));
    expect(prov.predicate.runDetails.byproducts).toEqual([{ name: 'repair.json', digest: { sha256: rec.repair!.report!.slice(7) }, annotations: { policy: 'manylinux', wheels: rec.repair!.wheels } }]);
    const log = await cli(['log', 'weldcext']);
    expect(log.stdout).toContain(`repaired weldcext-1.0-cp311-cp311-linux_${arch}.whl -> weldcext-1.0-cp311-cp311-manylinux_2_26_${arch}.whl (repaired; 1 library grafted)`);
  });

  it('rebuilds when --repair-policy changes the policy, and none keeps linux_<arch>', async () => {
    const r = await cli(['build', 'weldcext', '--repair-policy', 'none']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^weldcext: building \(repair policy manylinux → none\)$/m);
    expect(r.stdout).toMatch(new RegExp(`^weldcext: built weldcext-1\\.0-cp311-cp311-linux_${arch}\\.whl in`, 'm'));
    const again = await cli(['build', 'weldcext']);
    expect(again.stdout).toContain(`weldcext: cached weldcext-1.0-cp311-cp311-manylinux_2_26_${arch}.whl`);
  });

  it('fails the build when a fixed target tag is too old, naming the symbol', async () => {
    const r = await cli(['build', 'weldcext', '--repair-policy', `manylinux_2_17_${arch}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `weldcext: FAILED: wheel repair: weldcext-1.0-cp311-cp311-linux_${arch}.whl cannot be tagged manylinux_2_17_${arch}: GLIBC_2.25, used by weldcext/_ext${suffix}, is newer than glibc 2.17 provides\n`,
    );
  });

  it('refuses a --repair-policy that is not one', async () => {
    const r = await cli(['build', 'weldcext', '--repair-policy', 'auditwheel']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('weld build: --repair-policy: repair policy "auditwheel" is not one of "manylinux"');
  });
});
