import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Of } from '../../src/core/digest.js';
import { testKey, type TestKeyInputs } from '../../src/plan/test-key.js';

const D = (c: string) => `sha256:${c.repeat(64)}` as const;
const INPUTS: TestKeyInputs = {
  package: 'jinja2',
  wheels: [D('2'), D('1')],
  sourceTree: 'a'.repeat(40),
  requirements: { markupsafe: [D('3')], babel: [D('5'), D('4')] },
  envImage: D('6'),
  arch: 's390x',
  spec: { imports: ['jinja2'], commands: ['true'], requires: ['babel'] },
  program: D('7'),
};

describe('test keys', () => {
  it('are the sha256 of the canonical JSON of the inputs (the wheels sorted), exactly', () => {
    for (const inputs of [INPUTS, { ...INPUTS, requirements: {}, wheels: [D('1')] }, { ...INPUTS, requirements: { z: [], a: [D('9')] } }]) {
      expect(testKey(inputs)).toBe(sha256Of(canonicalJson({ ...inputs, wheels: [...inputs.wheels].sort(), v: 1 })));
    }
  });

  it('do not depend on the order of the wheels or of the requirements, and change with every input', () => {
    expect(testKey({ ...INPUTS, wheels: [D('1'), D('2')], requirements: { babel: [D('5'), D('4')], markupsafe: [D('3')] } })).toBe(testKey(INPUTS));
    const variants: Array<Partial<TestKeyInputs>> = [
      { package: 'other' },
      { wheels: [D('1')] },
      { sourceTree: 'b'.repeat(40) },
      { requirements: { markupsafe: [D('8')] } },
      { envImage: D('9') },
      { arch: 'ppc64el' },
      { spec: { imports: [], commands: ['true'], requires: ['babel'] } },
      { program: D('8') },
    ];
    const keys = new Set([testKey(INPUTS), ...variants.map((v) => testKey({ ...INPUTS, ...v }))]);
    expect(keys.size).toBe(variants.length + 1);
    // every field of TestKeyInputs is varied above: a new input needs its own variant here and in keyDocument
    expect(new Set(variants.flatMap((v) => Object.keys(v)))).toEqual(new Set(Object.keys(INPUTS)));
  });
});
