import { describe, expect, it } from 'vitest';
import { PackageGraph } from '../../src/metadata/graph.js';
import type { Package } from '../../src/metadata/model.js';
import type { Digest } from '../../src/core/digest.js';
import { cacheKey } from '../../src/plan/cache-key.js';
import { keyInputsFor, planBuild, recordsIn, type PlanContext, type RecordsLookup, type RecordView } from '../../src/plan/plan.js';

// planBuild is pure: plain data in, plan out. A chain lib → mid → app, plus a package
// with no lock entry and one that requires it.
const D = (c: string) => `sha256:${c.repeat(64)}` as Digest;
const pkg = (name: string, requires: string[] = []): Package => ({
  name, displayName: name, version: '1.0', release: 1, kind: name === 'lib' ? 'pack' : 'wheel',
  upstream: { kind: 'tarball', url: 'file:///x', sha256: '0'.repeat(64) }, recipe: 'python-wheel', env: 'e',
  requires, vars: {}, runtimeRequires: [], imports: [], patches: [], file: `metadata/packages/${name}.toml`,
});
const PKGS = [pkg('lib'), pkg('mid', ['lib']), pkg('app', ['mid']), pkg('ghost'), pkg('haunted', ['ghost'])];
const lockOf = (n: string) => ({ inputs: D('0'), upstream: n[0]!.repeat(40), distro: n[0]!.repeat(40), tree: n[0]!.repeat(40) });

// The context carries its records here, so a test can vary one and keep the other.
type Ctx = PlanContext & { records: RecordsLookup };
const plan = (ctx: Ctx, targets: string[]) => planBuild({ ctx, targets, records: ctx.records });

function context(records: RecordView[]): Ctx {
  return {
    metadata: {
      packages: new Map(PKGS.map((p) => [p.name, p])),
      graph: new PackageGraph(new Map(PKGS.map((p) => [p.name, p.requires]))),
      lock: Object.fromEntries(['lib', 'mid', 'app', 'haunted'].map((n) => [n, lockOf(n)])),
    },
    arch: 's390x',
    envImages: new Map([['e', D('e')]]),
    recipeDigests: new Map([['python-wheel', D('r')]]),
    repairProgram: D('repair'),
    sourceDateEpochs: new Map(['lib', 'mid', 'app', 'haunted'].map((n) => [lockOf(n).distro, 1700000000])),
    records: recordsIn(records),
  };
}

function recordFor(ctx: PlanContext, name: string, deps: Record<string, Digest[]>, out: Digest): RecordView {
  const inputs = keyInputsFor({ ctx, pkg: ctx.metadata.packages.get(name)!, deps });
  if ('missing' in inputs) throw new Error(inputs.missing);
  return { cacheKey: cacheKey(inputs), package: name, version: '1.0', arch: 's390x', envImage: D('e'), sourceTree: inputs.sourceTree, recipe: inputs.recipe, dependencies: deps, outputs: [{ name: `${name}.out`, digest: out, size: 1 }], timings: { finishedAt: '2024-01-01T00:00:00Z' }, ...(inputs.repair ? { repair: inputs.repair } : {}) };
}

describe('wheel repair in the plan', () => {
  it('keys wheels (not packs) by the repair policy and program, and says which changed', async () => {
    const ctx = context([]);
    const lib = recordFor(ctx, 'lib', {}, D('1'));
    const mid = recordFor(ctx, 'mid', { lib: [D('1')] }, D('2'));
    expect(keyInputsFor({ ctx, pkg: ctx.metadata.packages.get('lib')!, deps: {} })).not.toHaveProperty('repair');
    expect(keyInputsFor({ ctx, pkg: ctx.metadata.packages.get('mid')!, deps: { lib: [D('1')] } })).toMatchObject({ repair: { policy: 'manylinux', program: D('repair') } });
    const same = await plan(context([lib, mid]), ['mid']);
    expect(same.get('mid')?.state).toBe('cached');
    const none = await plan({ ...context([lib, mid]), repairOverride: 'none' }, ['mid']);
    expect(none.get('lib')?.state).toBe('cached');
    expect(none.get('mid')).toMatchObject({ state: 'build', changed: ['repair policy manylinux → none'] });
    const distroWide = await plan({ ...context([lib, mid]), repairDefault: 'manylinux_2_28_s390x' }, ['mid']);
    expect(distroWide.get('mid')).toMatchObject({ state: 'build', changed: ['repair policy manylinux → manylinux_2_28_s390x'] });
    const newProgram = await plan({ ...context([lib, mid]), repairProgram: D('f') }, ['mid']);
    expect(newProgram.get('mid')).toMatchObject({ state: 'build', changed: ['wheel repair program'] });
  });

  it('cannot key a wheel without the repair program', async () => {
    const planned = await plan({ ...context([]), repairProgram: undefined }, ['mid']);
    expect(planned.get('lib')?.state).toBe('build');
    const inputs = keyInputsFor({ ctx: { ...context([]), repairProgram: undefined }, pkg: PKGS[1]!, deps: {} });
    expect(inputs).toEqual({ missing: 'the wheel repair program (recipes/lib/repair-step.sh, repair_wheel.py, manylinux.py) was not found in recipes/lib/', code: 'E_NO_REPAIR_PROGRAM' });
  });
});

describe('planBuild', () => {
  it('marks a package behind a build as pending, and the unmirrored and what they block', async () => {
    const planned = await plan(context([]), ['app', 'haunted']);
    expect(Object.fromEntries([...planned].map(([n, e]) => [n, e.state]))).toEqual({ lib: 'build', ghost: 'unmirrored', mid: 'pending', haunted: 'blocked', app: 'pending' });
    expect(planned.get('mid')).toEqual({ state: 'pending', waitingOn: ['lib'] });
    expect(planned.get('ghost')).toEqual({ state: 'unmirrored', reason: 'not in metadata/weld.lock; run `weld mirror ghost`', code: 'E_NOT_MIRRORED' });
    expect(planned.get('haunted')).toEqual({ state: 'blocked', by: ['ghost'] });
  });

  it('resolves keys through cached dependencies’ outputs, and says what changed', async () => {
    const empty = context([]);
    const lib = recordFor(empty, 'lib', {}, D('1'));
    const mid = recordFor(empty, 'mid', { lib: [D('1')] }, D('2'));
    const oldApp = recordFor(empty, 'app', { mid: [D('9')] }, D('3'));
    const planned = await plan(context([lib, mid, oldApp]), ['app']);
    expect(planned.get('lib')?.state).toBe('cached');
    expect(planned.get('mid')?.state).toBe('cached');
    expect(planned.get('app')).toMatchObject({ state: 'build', changed: ['outputs of dependency mid'] });
  });
});

describe('the walk’s look-ups', () => {
  it('asks for the keys it needs a build step at a time, and for the newest build only on a miss', async () => {
    const empty = context([]);
    const lib = recordFor(empty, 'lib', {}, D('1'));
    const mid = recordFor(empty, 'mid', { lib: [D('1')] }, D('2'));
    const inner = recordsIn([lib, mid]);
    const asked: Array<{ keys?: readonly string[]; newest?: readonly string[] }> = [];
    const records: RecordsLookup = {
      byKeys: (keys) => (asked.push({ keys: [...keys] }), inner.byKeys(keys)),
      newest: (pkgs) => (asked.push({ newest: [...pkgs] }), inner.newest(pkgs)),
    };
    const planned = await planBuild({ ctx: empty, targets: ['app', 'haunted'], records });
    expect(Object.fromEntries([...planned].map(([n, e]) => [n, e.state]))).toEqual({ lib: 'cached', ghost: 'unmirrored', mid: 'cached', haunted: 'blocked', app: 'build' });
    // ghost and haunted need no look-up; lib, mid and app one batch each (their steps), app's newest once.
    expect(asked).toEqual([{ keys: [lib.cacheKey] }, { keys: [mid.cacheKey] }, { keys: [(planned.get('app') as { key: string }).key] }, { newest: ['app'] }]);
  });
});
