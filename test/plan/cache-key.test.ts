import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Of } from '../../src/core/digest.js';
import { cacheKey, type KeyInputs } from '../../src/plan/cache-key.js';
import { changedInputs, type RecordView } from '../../src/plan/plan.js';

const D = (c: string) => `sha256:${c.repeat(64)}` as const;
const INPUTS: KeyInputs = {
  package: 'pyyaml',
  version: '6.0',
  kind: 'wheel',
  sourceTree: 'a'.repeat(40),
  recipe: { name: 'python-wheel', digest: D('1') },
  envImage: D('2'),
  arch: 's390x',
  vars: { A: '1', B: '2' },
  deps: { libyaml: [D('3'), D('4')] },
  sourceDateEpoch: 1700000000,
  repair: { policy: 'manylinux', program: D('6') },
};

describe('cache keys', () => {
  it('does not depend on the order of keys or of a dependency’s outputs', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
    const shuffled: KeyInputs = { ...INPUTS, vars: { B: '2', A: '1' }, deps: { libyaml: [D('4'), D('3')] } };
    expect(cacheKey(shuffled)).toBe(cacheKey(INPUTS));
    expect(cacheKey(INPUTS)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('is the sha256 of the canonical JSON of the inputs, exactly', () => {
    const { repair: _, ...pack } = INPUTS;
    for (const inputs of [INPUTS, pack, { ...INPUTS, vars: { Z: '1', A: '2' }, deps: { b: [D('9'), D('1')], a: [] } }] as KeyInputs[]) {
      const deps = Object.fromEntries(Object.entries(inputs.deps).map(([k, ds]) => [k, [...ds].sort()]));
      expect(cacheKey(inputs)).toBe(sha256Of(canonicalJson({ v: 1, ...inputs, deps })));
    }
  });

  it('changes with every input', () => {
    const variants: Array<Partial<KeyInputs>> = [
      { package: 'other' },
      { version: '6.1' },
      { kind: 'pack' },
      { sourceTree: 'b'.repeat(40) },
      { recipe: { name: 'python-wheel', digest: D('9') } },
      { recipe: { name: 'other', digest: D('1') } },
      { envImage: D('9') },
      { arch: 'amd64' },
      { vars: { A: '1', B: '3' } },
      { deps: { libyaml: [D('3'), D('5')] } },
      { deps: {} },
      { sourceDateEpoch: 1 },
      { repair: { policy: 'none', program: D('6') } },
      { repair: { policy: 'manylinux', program: D('7') } },
    ];
    const { repair: _, ...packInputs } = INPUTS;
    const keys = new Set([cacheKey(INPUTS), cacheKey(packInputs), ...variants.map((v) => cacheKey({ ...INPUTS, ...v }))]);
    expect(keys.size).toBe(variants.length + 2);
    // every field of KeyInputs is varied above: a new input needs its own variant
    expect(new Set(variants.flatMap((v) => Object.keys(v)))).toEqual(new Set(Object.keys(INPUTS)));
  });

  it('names which recorded inputs changed since the last build', () => {
    const last: RecordView = {
      cacheKey: D('0'),
      package: 'pyyaml',
      version: '5.4',
      arch: 's390x',
      envImage: D('2'),
      sourceTree: 'c'.repeat(40),
      recipe: { name: 'python-wheel', digest: D('8') },
      dependencies: { libyaml: [D('3')] },
      outputs: [],
      timings: { finishedAt: '2024-01-01T00:00:00Z' },
      repair: { policy: 'manylinux', program: D('6') },
    };
    expect(changedInputs(INPUTS, last)).toEqual(['source tree cccccccccccc → aaaaaaaaaaaa', 'version 5.4 → 6.0', 'recipe python-wheel', 'outputs of dependency libyaml']);
    expect(changedInputs(INPUTS, undefined)).toEqual(['never built']);
  });
});
