import { describe, expect, it } from 'vitest';
import { layoutGraph } from '../../../src/ui/web/src/components/Graph.js';
import { keepUnchanged } from '../../../src/ui/web/src/job-state.js';
import type { Job } from '../../../src/ui/web/src/types.js';

// The job page's pure parts: the graph's layers by longest path, and a re-read job that
// keeps its unchanged packages' objects (what lets the memoised nodes and rows skip them).

const layers = (l: ReturnType<typeof layoutGraph>) => l.columns.map((c) => c.join(' '));

describe('the build graph layout', () => {
  it('puts each package one layer right of the deepest package it requires, names sorted in a layer', () => {
    // d requires a (layer 0) and c (layer 2): it goes to layer 3, not 1
    const l = layoutGraph(['d', 'c', 'b', 'a', 'e'], { a: [], b: ['a'], c: ['b'], d: ['a', 'c'], e: [] });
    expect(layers(l)).toEqual(['a e', 'b', 'c', 'd']);
    expect(l.depths).toBe(4);
    expect(l.pos.get('d')).toMatchObject({ depth: 3, row: 0 });
    expect(l.pos.get('e')).toMatchObject({ depth: 0, row: 1 });
    // rows and columns are evenly spaced, the box holds the tallest column
    expect(l.pos.get('e')!.y - l.pos.get('a')!.y).toBe(28);
    expect(l.pos.get('b')!.x - l.pos.get('a')!.x).toBe(212);
    expect(l.height).toBe(8 * 2 + 2 * 28 - 6);
    expect(l.width).toBe(8 * 2 + 4 * 212 - 44);
  });

  it("ignores edges to packages outside the job and a package's edge to itself", () => {
    const l = layoutGraph(['x', 'y'], { x: ['x', 'not-in-job'], y: ['x', 'x'] });
    expect(layers(l)).toEqual(['x', 'y']);
  });

  it('lays out a chain of 20,000 without recursion, and a cycle without looping', () => {
    const names = Array.from({ length: 20_000 }, (_, i) => `p${String(i).padStart(5, '0')}`);
    const requires = Object.fromEntries(names.map((n, i) => [n, i ? [names[i - 1]!] : []]));
    const l = layoutGraph(names, requires);
    expect(l.depths).toBe(20_000);
    expect(l.pos.get('p19999')!.depth).toBe(19_999);
    // metadata refuses cycles; were one to come, its packages stay in layer 0
    expect(layers(layoutGraph(['a', 'b', 'c'], { a: ['b'], b: ['a'], c: [] }))).toEqual(['a b c']);
  });

  it('draws an empty job as an empty graph', () => {
    const l = layoutGraph([], {});
    expect([l.depths, l.width, l.height, l.columns]).toEqual([0, 0, 0, []]);
  });
});

describe('a job read again', () => {
  const job = (states: Job['packageStates'], state: Job['state'] = 'build'): Job => ({
    id: '01M8XDXY0WJ3T4GT7SN2MV2QW6',
    repository: '/r',
    ref: 'main',
    commit: 'c'.repeat(40),
    packages: [],
    all: true,
    composes: [],
    jobs: 1,
    submitter: 'ci',
    submittedAt: 1,
    state,
    transitions: [{ state: 'init', at: 1, reason: 'submitted' }],
    packageStates: states,
    requires: { a: [], b: ['a'] },
    composed: {},
    logLines: 0,
  });

  it('keeps the objects of what did not change, and the job itself when nothing did', () => {
    const prev = job({ a: { state: 'built', key: 'k' }, b: { state: 'building', startedAt: 5 } });
    const same = keepUnchanged(prev, structuredClone(prev));
    expect(same).toBe(prev);

    const next = keepUnchanged(prev, job({ a: { state: 'built', key: 'k' }, b: { state: 'built', startedAt: 5, endedAt: 9 } }));
    expect(next).not.toBe(prev);
    expect(next.packageStates['a']).toBe(prev.packageStates['a']);
    expect(next.packageStates['b']).toEqual({ state: 'built', startedAt: 5, endedAt: 9 });
    expect(next.requires).toBe(prev.requires);

    // the job's own state alone: a new job object, every package's object kept
    const done = keepUnchanged(prev, job(structuredClone(prev.packageStates), 'done'));
    expect(done.state).toBe('done');
    expect(done.packageStates).toBe(prev.packageStates);
  });

  it('takes a different job as it comes', () => {
    const prev = job({ a: { state: 'built' } });
    const other = { ...job({ a: { state: 'built' } }), id: '01M8XE13ZSXN8DN800QGGJD7X5' };
    expect(keepUnchanged(prev, other)).toBe(other);
    expect(keepUnchanged(undefined, prev)).toBe(prev);
  });
});
