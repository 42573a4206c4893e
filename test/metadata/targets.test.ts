import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetadataInvalidError } from '../../src/core/errors.js';
import { loadMetadata } from '../../src/metadata/load.js';
import { WorkTreeSource } from '../../src/metadata/source.js';
import { targetView } from '../../src/metadata/targets.js';
import { applyOverlay, REPO_ROOT, sampleProject, weld } from '../helpers/project.js';

// Targets in weld.toml: the sample with the matrix overlay (s390x and ppc64el), checked by
// the real validation; then what is wrong with targets, reported at file:line:col.

const MATRIX = path.join(REPO_ROOT, 'test/fixtures/matrix');

describe('targets', () => {
  let root: string;
  let cleanup: () => void;
  const load = () => loadMetadata({ source: new WorkTreeSource(root, root), cacheDir: false });
  const edit = (file: string, f: (s: string) => string) => writeFileSync(path.join(root, file), f(readFileSync(path.join(root, file), 'utf8')));
  const check = async () => {
    const r = await weld(['check'], { cwd: root });
    return { code: r.code, out: r.stdout + r.stderr };
  };

  beforeEach(() => {
    ({ root, cleanup } = sampleProject());
    applyOverlay(root, MATRIX);
  });
  afterEach(() => cleanup());

  it('gives every package every target, each resolved against its own envs', async () => {
    const r = await load();
    if (!r.ok) throw new Error(r.error.message);
    const md = r.value;
    expect(md.distro.targets.map((t) => [t.name, t.arch, t.env, t.runtimeEnv])).toEqual([
      ['s390x-py311', 's390x', 'bookworm-s390x', 'bookworm-s390x-runtime'],
      ['ppc64el-py311', 'ppc64el', 'bookworm-ppc64el', 'bookworm-ppc64el-runtime'],
    ]);
    expect(md.packages.get('pyyaml')!.targets).toEqual(['s390x-py311', 'ppc64el-py311']);
    const ppc = targetView(md, 'ppc64el-py311');
    expect(ppc.distro.arch).toBe('ppc64el');
    expect(ppc.distro.viewOf).toBe('ppc64el-py311');
    expect(ppc.packages.get('markupsafe')!.env).toBe('bookworm-ppc64el');
    expect(ppc.packages.get('markupsafe')!.test.env).toBe('bookworm-ppc64el-runtime');
    expect(ppc.composes.get('python-runtime')!.env).toBe('bookworm-ppc64el-runtime');
    expect(targetView(md, 's390x-py311').packages.get('markupsafe')!.env).toBe('bookworm-s390x');
    // a view is made once per metadata
    expect(targetView(md, 'ppc64el-py311')).toBe(ppc);
  });

  it('narrows a package with [build] targets, and its views leave it out', async () => {
    edit('metadata/packages/toml.toml', (s) => s.replace('[build]\n', '[build]\ntargets = ["s390x-py311"]\n'));
    // The image is made for both targets, so it cannot hold toml: said where it lists it.
    const refused = await check();
    expect(refused.out).toMatch(/metadata\/composes\/python-runtime\.toml:\d+:\d+: error: "toml" does not build for target ppc64el-py311, which this image is made for/);
    edit('metadata/composes/python-runtime.toml', (s) => s.replace(', "toml"', ''));
    const r = await load();
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.packages.get('toml')!.targets).toEqual(['s390x-py311']);
    expect(targetView(r.value, 'ppc64el-py311').packages.has('toml')).toBe(false);
    expect(targetView(r.value, 's390x-py311').packages.has('toml')).toBe(true);
  });

  it('a single-target distro is its own view, with the implicit target named after its env', async () => {
    cleanup();
    ({ root, cleanup } = sampleProject());
    const r = await load();
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.distro.targets.map((t) => t.name)).toEqual(['bookworm-s390x']);
    expect(r.value.distro.implicitTarget).toBe(true);
    expect(targetView(r.value, 'bookworm-s390x')).toBe(r.value);
  });

  it('reports what is wrong with targets where it is written', async () => {
    edit('metadata/weld.toml', (s) => s.replace('[distro]\nname = "weld-sample"\n', '[distro]\nname = "weld-sample"\narch = "s390x"\n').replace('env = "bookworm-ppc64el"\n', 'env = "bookworm-s390x"\n'));
    edit('metadata/packages/toml.toml', (s) => s.replace('[build]\n', '[build]\ntargets = ["s390x-py31"]\n'));
    edit('metadata/packages/jinja2.toml', (s) => s.replace('[build]\n', '[build]\nenv = "bookworm-s390x"\n'));
    const { code, out } = await check();
    expect(code).toBe(1);
    expect(out).toMatch(/metadata\/weld\.toml:\d+:\d+: error: \[distro\] arch and \[\[target\]\] tables both say what is built/);
    expect(out).toMatch(/metadata\/weld\.toml:\d+:\d+: error: env "bookworm-s390x" is for s390x, but this target builds ppc64el/);
    expect(out).toMatch(/metadata\/packages\/toml\.toml:\d+:\d+: error: unknown target "s390x-py31"; did you mean "s390x-py311"\?/);
    expect(out).toMatch(/metadata\/packages\/jinja2\.toml:\d+:\d+: error: env "bookworm-s390x" is for s390x, but this package also builds for target ppc64el-py311/);
  });

  it('refuses a package that requires one which does not build for its targets', async () => {
    edit('metadata/packages/libyaml.toml', (s) => s.replace('[build]\n', '[build]\ntargets = ["s390x-py311"]\n'));
    const { code, out } = await check();
    expect(code).toBe(1);
    expect(out).toMatch(/metadata\/packages\/pyyaml\.toml:\d+:\d+: error: "libyaml" does not build for target ppc64el-py311, which this package builds for/);
    const r = await load();
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toBeInstanceOf(MetadataInvalidError);
  });

  it('refuses an env whose arch no target builds, and duplicate target names', async () => {
    edit('metadata/weld.toml', (s) => s.replace('name = "ppc64el-py311"', 'name = "s390x-py311"'));
    const { code, out } = await check();
    expect(code).toBe(1);
    expect(out).toMatch(/target "s390x-py311" is named twice/);
    expect(out).toMatch(/metadata\/envs\/bookworm-ppc64el\.toml:\d+:\d+: error: env arch "ppc64el" is built by no target/);
  });

  it('weld build and weld status refuse an unknown --target, naming the targets', async () => {
    const r = await weld(['status', '--target', 'ppc64le-py311'], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no target "ppc64le-py311"; did you mean "ppc64el-py311"\?/);
    expect(r.stderr).toMatch(/targets: s390x-py311, ppc64el-py311/);
  });
});
