import { describe, expect, it } from 'vitest';
import { PackageGraph } from '../../src/metadata/graph.js';

const graph = (edges: Record<string, string[]>) => new PackageGraph(new Map(Object.entries(edges)));

describe('PackageGraph', () => {
  // app → web → (json, yaml → libyaml); cli → json; solo alone
  const g = graph({
    app: ['web'],
    web: ['json', 'yaml'],
    yaml: ['libyaml'],
    libyaml: [],
    json: [],
    cli: ['json'],
    solo: [],
  });

  it('orders every package after what it requires, in parallel steps, deterministically', () => {
    expect(g.steps()).toEqual([['json', 'libyaml', 'solo'], ['cli', 'yaml'], ['web'], ['app']]);
    const order = g.order();
    expect(order).toEqual(['json', 'libyaml', 'solo', 'cli', 'yaml', 'web', 'app']);
    for (const n of g.nodes) for (const d of g.requires(n)) expect(order.indexOf(d)).toBeLessThan(order.indexOf(n));
  });

  it('puts a package at the step after its longest chain, not its shortest', () => {
    // web needs json (step 1) and yaml (step 2): it must wait for step 3
    expect(g.steps()[2]).toEqual(['web']);
  });

  it('lists direct and transitive dependents', () => {
    expect(g.dependents('json')).toEqual(['cli', 'web']);
    expect(g.dependents('libyaml')).toEqual(['yaml']);
    expect(g.dependents('libyaml', { transitive: true })).toEqual(['app', 'web', 'yaml']);
    expect(g.dependents('app', { transitive: true })).toEqual([]);
  });

  it('knows whether a package builds on another, through others too', () => {
    expect(g.buildsOn('app', 'libyaml')).toBe(true);
    expect(g.buildsOn('web', 'json')).toBe(true);
    expect(g.buildsOn('libyaml', 'app')).toBe(false);
    expect(g.buildsOn('cli', 'yaml')).toBe(false);
    expect(g.buildsOn('solo', 'solo')).toBe(false);
    const cyclic = graph({ a: ['b'], b: ['a'] });
    expect(cyclic.buildsOn('a', 'a')).toBe(true);
  });

  it('cuts the subgraph needed for some targets', () => {
    const sub = g.subgraph(['web', 'cli']);
    expect(sub.nodes).toEqual(['cli', 'json', 'libyaml', 'web', 'yaml']);
    expect(sub.order()).toEqual(['json', 'libyaml', 'cli', 'yaml', 'web']);
    expect(g.subgraph(['solo']).nodes).toEqual(['solo']);
    expect(g.subgraph([]).nodes).toEqual([]);
  });

  it('finds no cycle in a DAG', () => {
    expect(g.cycles()).toEqual([]);
  });

  it('reports each cycle once, from its smallest member, in edge order', () => {
    const c = graph({ c: ['a'], a: ['b'], b: ['c'], d: ['d'], e: ['a'] });
    expect(c.cycles()).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('reports one shortest cycle per tangle of cycles', () => {
    // a ⇄ b and a → c → d → a share a; one report, the shortest loop through a
    const c = graph({ a: ['c', 'b'], b: ['a'], c: ['d'], d: ['a'] });
    expect(c.cycles()).toEqual([['a', 'b']]);
  });

  it('leaves cyclic packages out of the build steps instead of looping', () => {
    const c = graph({ a: ['b'], b: ['a'], x: [] });
    expect(c.steps()).toEqual([['x']]);
  });

  it('handles a 1,000-deep chain without recursion limits', () => {
    const edges: Record<string, string[]> = {};
    for (let i = 0; i < 1000; i++) edges[`p${i}`] = i ? [`p${i - 1}`] : [];
    const chain = graph(edges);
    expect(chain.steps()).toHaveLength(1000);
    expect(chain.cycles()).toEqual([]);
    edges['p0'] = ['p999'];
    expect(graph(edges).cycles()[0]).toHaveLength(1000);
  });
});
