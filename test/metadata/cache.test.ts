import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadMetadata } from '../../src/metadata/load.js';
import type { Metadata } from '../../src/metadata/model.js';
import { WorkTreeSource } from '../../src/metadata/source.js';
import { sampleProject } from '../helpers/project.js';

const plain = (m: Metadata) => JSON.stringify({ ...m, packages: [...m.packages], envs: [...m.envs], composes: [...m.composes], graph: m.graph.steps() });

describe('metadata cache', () => {
  let root: string;
  let cleanup: () => void;
  let cacheDir: string;
  const load = (cache = true) => loadMetadata({ source: new WorkTreeSource(root, root), cacheDir: cache ? cacheDir : false });

  beforeEach(() => {
    ({ root, cleanup } = sampleProject());
    cacheDir = path.join(root, '.weld/cache/metadata');
  });
  afterEach(() => cleanup());

  it('gives on a hit exactly what validation gives', async () => {
    const fresh = await load(false);
    const miss = await load();
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.json'))).toHaveLength(1);
    const hit = await load();
    if (!fresh.ok || !miss.ok || !hit.ok) throw new Error('sample metadata must load');
    expect(plain(hit.value)).toBe(plain(fresh.value));
    expect(plain(miss.value)).toBe(plain(fresh.value));
  });

  it('misses when any input changes, including a new patch or recipe', async () => {
    await load();
    const tomlFile = path.join(root, 'metadata/packages/toml.toml');
    writeFileSync(tomlFile, readFileSync(tomlFile, 'utf8').replace('release = 1', 'release = 3'));
    const changed = await load();
    expect(changed.ok && changed.value.packages.get('toml')?.release).toBe(3);
    writeFileSync(path.join(root, 'recipes/scons-pack.sh'), '#!/bin/sh\n');
    const withRecipe = await load();
    expect(withRecipe.ok && withRecipe.value.recipes).toContain('scons-pack');
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.json'))).toHaveLength(3);
  });

  it('never caches invalid metadata, and reports it every time', async () => {
    writeFileSync(path.join(root, 'metadata/packages/toml.toml'), '[package]\nname = "toml"\n');
    for (let i = 0; i < 2; i++) {
      const r = await load();
      expect(r.ok).toBe(false);
    }
    expect(() => readdirSync(cacheDir)).toThrow();
  });

  it('ignores a damaged cache entry and validates instead', async () => {
    await load();
    const [entry] = readdirSync(cacheDir);
    writeFileSync(path.join(cacheDir, entry!), '{"distro": ');
    const r = await load();
    expect(r.ok && r.value.packages.size).toBe(6);
  });
});
