import { describe, expect, it } from 'vitest';
import { changedInputs, packageHistory } from '../../src/service/package-history.js';
import type { BuildRecord } from '../../src/store/records.js';

// What changed between two builds of a package, input by input, and the order of a history.

const d = (c: string) => `sha256:${c.repeat(64)}` as const;
const record = (o: Partial<BuildRecord> & { startedAt?: string } = {}): BuildRecord => ({
  cacheKey: d('a'),
  package: 'pyyaml',
  version: '6.0',
  release: 1,
  arch: 's390x',
  envImage: d('e'),
  sourceTree: '1'.repeat(40),
  recipe: { name: 'python-wheel', digest: d('r') },
  dependencies: { libyaml: [d('1')] },
  outputs: [],
  log: null,
  timings: { startedAt: o.startedAt ?? '2026-01-01T00:00:00.000Z', finishedAt: o.startedAt ?? '2026-01-01T00:00:00.000Z', durationMs: 1 },
  runner: 'podman',
  weldVersion: '0.1.0',
  provenance: null,
  ...o,
});

describe('a package history', () => {
  it('names every key input that changed', () => {
    const before = record();
    const after = record({ cacheKey: d('b'), release: 2, sourceTree: '2'.repeat(40), envImage: d('f'), dependencies: { libyaml: [d('2')], zlib: [d('3')] } });
    expect(changedInputs(before, after)).toEqual([
      'release 1 → 2',
      `source tree ${'1'.repeat(12)} → ${'2'.repeat(12)}`,
      `env image ${'e'.repeat(12)} → ${'f'.repeat(12)}`,
      `dependency libyaml's outputs ${'1'.repeat(12)} → ${'2'.repeat(12)}`,
      'dependency zlib added',
    ]);
    expect(changedInputs(before, record({ cacheKey: d('c'), recipe: { name: 'autotools-pack', digest: d('r') } }))).toEqual(['recipe python-wheel → autotools-pack']);
  });

  it('says so when only what a record does not keep changed', () => {
    expect(changedInputs(record(), record({ cacheKey: d('c') }))).toEqual(['build vars or repair policy (the record keeps neither; the cache key differs)']);
    expect(changedInputs(record(), record())).toEqual([]);
  });

  it('is newest first and compares each build with the one before it of its arch', () => {
    const h = packageHistory([
      { record: record({ cacheKey: d('3'), version: '6.1', startedAt: '2026-03-01T00:00:00.000Z' }), broken: false },
      { record: record({ cacheKey: d('1'), startedAt: '2026-01-01T00:00:00.000Z' }), broken: false },
      { record: record({ cacheKey: d('2'), arch: 'x86_64', startedAt: '2026-02-01T00:00:00.000Z' }), broken: true },
    ]);
    expect(h.map((e) => e.key)).toEqual([d('3'), d('2'), d('1')]);
    expect(h[0]).toMatchObject({ previous: d('1'), changed: ['version 6.0 → 6.1'] });
    expect(h[1]).toMatchObject({ arch: 'x86_64', changed: [], broken: true });
    expect(h[1]!.previous).toBeUndefined();
  });
});
