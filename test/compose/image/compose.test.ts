import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventStream, summaryData } from '../../helpers/event-lines.js';
import { composeImage, type ComposedImage } from '../../../src/compose/image/compose.js';
import { composePackages } from '../../../src/compose/select.js';
import type { Metadata } from '../../../src/metadata/model.js';
import { LocalRunner } from '../../../src/runner/local.js';
import { openSession } from '../../../src/session/session.js';
import { blobPath } from '../../../src/store/layout.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { buildProject, type BuildProject } from '../../helpers/build-project.js';
import { writeRuntimeImage } from '../../helpers/runtime-image.js';
import { git, initRepo } from '../../helpers/git.js';
import { weld } from '../../helpers/project.js';
import { makeWheel } from '../../helpers/wheels.js';

// Real wheels built by real `weld build --runner local` runs (the recipe copies a wheel
// from the package's source), a real store, a small runtime env image written by the
// env image writers, and the metadata in a git repository (the image names its commit).

const RUNTIME = 'bookworm-s390x-runtime';
const SITE = 'usr/local/lib/python3.11/dist-packages';
const COPY_WHEEL = '#!/bin/sh\nset -e\nmkdir -p "$WELD_OUT/wheels"\ncp "$WELD_SRC"/*.whl "$WELD_OUT/wheels/"\n';

function wheelDir(tmp: string, wheel: { file: string; bytes: Buffer }): { dir: string } {
  const dir = mkdtempSync(path.join(tmp, 'wheel-'));
  writeFileSync(path.join(dir, wheel.file), wheel.bytes);
  return { dir };
}

describe('weld compose image', () => {
  let project: BuildProject;
  let tmp: string;
  let metadata: Metadata;
  let store: Store;
  let commit: string;
  const storeDir = () => path.join(project.root, 'store');
  const env = () => ({ WELD_STORE: storeDir(), WELD_RUNNER: 'local' });
  const compose = (name: string, out: string) => composeImage({ metadata, store, session: openSession({ metadata, store, runner: new LocalRunner(), mirrorsDir: path.join(project.root, 'mirrors') }), name, out });

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'weld-image-test-'));
    const alpha = makeWheel({ dist: 'alpha', version: '1.0', files: { 'alpha/__init__.py': 'import beta\n' }, entryPoints: '[console_scripts]\nalpha = alpha:main\n' });
    const beta = makeWheel({ dist: 'beta', version: '1.0', purelib: false, files: { 'beta/__init__.py': '', 'beta/_c.so': 'ELF', 'beta-1.0.data/scripts/beta-tool': '#!python\nprint(1)\n' } });
    const evil = makeWheel({ dist: 'evil', version: '1.0', files: { 'evil/__init__.py': '', '../../../../etc/cron.d/evil': '* * * * * root sh\n' } });
    project = await buildProject({
      recipes: { 'copy-wheel': COPY_WHEEL },
      packages: [
        { name: 'alpha', recipe: 'copy-wheel', files: wheelDir(tmp, alpha) },
        { name: 'beta', recipe: 'copy-wheel', files: wheelDir(tmp, beta) },
        { name: 'evil', recipe: 'copy-wheel', files: wheelDir(tmp, evil) },
        { name: 'gamma', recipe: 'copy-wheel', files: wheelDir(tmp, makeWheel({ dist: 'gamma', version: '1.0', files: { 'gamma.py': '' } })) },
      ],
    });
    const pkgs = path.join(project.root, 'metadata/packages');
    appendFileSync(path.join(pkgs, 'alpha.toml'), '\n[runtime]\nrequires = ["beta"]\n');
    mkdirSync(path.join(project.root, 'metadata/composes'));
    const composeFile = (name: string, packages: string[]) =>
      writeFileSync(path.join(project.root, `metadata/composes/${name}.toml`), `[compose]\nkind = "image"\nenv = "${RUNTIME}"\npackages = [${packages.map((p) => `"${p}"`).join(', ')}]\ncmd = ["python3", "-c", "import alpha"]\n`);
    composeFile('app', ['alpha', 'beta']);
    composeFile('half', ['alpha']);
    composeFile('bad', ['evil']);
    composeFile('unbuilt', ['alpha', 'beta', 'gamma']);
    writeFileSync(path.join(project.root, 'metadata/composes/wheels.toml'), '[compose]\nkind = "wheelhouse"\n');
    writeFileSync(path.join(project.root, '.gitignore'), '/store/\n/mirrors/\n/out/\n/.weld/\n');
    commit = initRepo(project.root);
    const built = await weld(['build', 'alpha', 'beta', 'evil'], { cwd: project.root, env: env() });
    expect(built.code, built.stdout + built.stderr).toBe(0);
    metadata = await project.metadata();
    const opened = await openStore({ path: storeDir() });
    if (!opened.ok) throw opened.error;
    store = opened.value;
  });
  afterAll(() => {
    project.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('needs the runtime env image in the store', async () => {
    const r = await compose('app', path.join(tmp, 'none.oci.tar'));
    expect(!r.ok && r.error.code).toBe('E_RUNTIME_IMAGE_MISSING');
    expect(!r.ok && r.error.message).toBe(`the runtime env "${RUNTIME}" has no image in the store: it was not composed from its lock as it is now`);
    expect(!r.ok && r.error.hint).toBe(`run \`weld env fetch ${RUNTIME} && weld env compose ${RUNTIME}\``);
    await writeRuntimeImage(metadata, store, RUNTIME);
  });

  let first: ComposedImage;
  it('installs the wheels as one layer on the runtime image, with labels naming the commit and the manifest', async () => {
    const out = path.join(tmp, 'a', 'app.oci.tar');
    const r = await compose('app', out);
    if (!r.ok) throw r.error;
    first = r.value;
    expect(first.tag).toBe(`weld/app:${first.manifest.slice(7, 19)}`);
    expect(first.wheels.map((w) => [w.package, w.file])).toEqual([['alpha', 'alpha-1.0-py3-none-any.whl'], ['beta', 'beta-1.0-cp311-cp311-manylinux_2_17_s390x.manylinux2014_s390x.whl']]);
    expect(first.layers).toHaveLength(2);
    // the archive is what podman load reads: oci-layout, index.json naming the tag, the blobs
    const x = mkdtempSync(path.join(tmp, 'x-'));
    execFileSync('tar', ['-xf', out, '-C', x]);
    const index = JSON.parse(readFileSync(path.join(x, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations: Record<string, string> }> };
    expect(index.manifests[0]).toMatchObject({ digest: first.manifest, annotations: { 'org.opencontainers.image.ref.name': first.tag } });
    expect(readdirSync(path.join(x, 'blobs/sha256')).sort()).toEqual([first.config, first.manifest, ...first.layers].map((d) => d.slice(7)).sort());
    const config = JSON.parse(readFileSync(path.join(x, 'blobs/sha256', first.config.slice(7)), 'utf8')) as Record<string, any>;
    const epoch = Number(git(project.root, 'show', '-s', '--format=%ct', 'HEAD'));
    expect(config['architecture']).toBe('s390x');
    expect(config['created']).toBe(new Date(epoch * 1000).toISOString());
    expect(config['config'].Cmd).toEqual(['python3', '-c', 'import alpha']);
    expect(config['config'].Env).toContain('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    expect(config['config'].Labels).toMatchObject({ 'org.opencontainers.image.revision': commit, 'dev.weld.manifest': first.wheelManifest, 'dev.weld.compose': 'app', 'dev.weld.env': RUNTIME });
    expect(config['rootfs'].diff_ids).toEqual(first.layers);
    expect(config['history'].map((h: { created_by: string }) => h.created_by)).toEqual([`weld env compose ${RUNTIME}`, 'weld compose image app']);
    // the wheel manifest is in the store (not in the archive): its digest is a label
    const manifest = JSON.parse(readFileSync(blobPath(store.layout, first.wheelManifest), 'utf8')) as { wheels: Array<{ package: string; digest: string; buildKey: string }> };
    expect(manifest.wheels.map((w) => w.package)).toEqual(['alpha', 'beta']);
    // the new layer: root-owned, the commit's time, sorted, directories first
    const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvf', path.join(x, 'blobs/sha256', first.layer.digest.slice(7))], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
    const rows = listing.trim().split('\n').map((l) => l.split(/\s+/));
    const names = rows.map((r) => r.slice(5).join(' ').replace(/\/$/, ''));
    expect(names).toEqual([...names].sort());
    expect(names).toContain(`${SITE}/alpha/__init__.py`);
    expect(names).toContain(`${SITE}/beta/_c.so`);
    expect(names).toContain(`${SITE}/beta-1.0.dist-info/INSTALLER`);
    expect(rows.find((r) => r[5] === 'usr/local/bin/beta-tool')![0]).toBe('-rwxr-xr-x');
    expect(rows.find((r) => r[5] === 'usr/local/bin/alpha')![0]).toBe('-rwxr-xr-x');
    expect(new Set(rows.map((r) => r[1]))).toEqual(new Set(['0/0']));
    expect(new Set(rows.map((r) => `${r[3]} ${r[4]}`))).toEqual(new Set([new Date(epoch * 1000).toISOString().replace('T', ' ').replace('.000Z', '')]));
    expect(execFileSync('tar', ['-xOf', path.join(x, 'blobs/sha256', first.layer.digest.slice(7)), 'usr/local/bin/beta-tool'], { encoding: 'utf8' })).toBe('#!/usr/bin/python3\nprint(1)\n');
  });

  it('composes the same digest and the same archive bytes again, and records the image in the store', async () => {
    const out = path.join(tmp, 'b', 'app.oci.tar');
    const again = await compose('app', out);
    if (!again.ok) throw again.error;
    expect(again.value.manifest).toBe(first.manifest);
    expect(readFileSync(out).equals(readFileSync(first.out))).toBe(true);
    const rec = await store.getRecord('compose', 'image/app');
    expect(rec.ok && rec.value?.data).toMatchObject({ name: 'app', type: 'image', manifest: first.manifest, blobs: [first.config, ...first.layers, first.wheelManifest] });
  });

  it('refuses a wheel with a path that escapes, naming the wheel and the entry, and writes nothing', async () => {
    const out = path.join(tmp, 'bad.oci.tar');
    const r = await compose('bad', out);
    expect(!r.ok && r.error.code).toBe('E_WHEEL_INVALID');
    expect(!r.ok && r.error.message).toBe('wheel evil-1.0-py3-none-any.whl, entry "../../../../etc/cron.d/evil": a ".." component: it would escape the install directory; refused');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('names every package that is not built and the command that builds them', async () => {
    const r = await compose('unbuilt', path.join(tmp, 'u.oci.tar'));
    expect(!r.ok && r.error.code).toBe('E_COMPOSE_NOT_BUILT');
    expect(!r.ok && r.error.message).toBe('compose "unbuilt": a package has no build for the current metadata:\n  gamma: never built');
    expect(!r.ok && r.error.hint).toBe('build them with `weld build gamma`');
  });

  it('pulls in what the packages need at run time', async () => {
    const r = await compose('half', path.join(tmp, 'h.oci.tar'));
    if (!r.ok) throw r.error;
    expect(r.value.wheels.map((w) => w.package)).toEqual(['alpha', 'beta']);
  });

  it('refuses a pack, and a package that needs a pack at run time', () => {
    const pack = { ...metadata.packages.get('gamma')!, name: 'lib', kind: 'pack' as const };
    const packages = new Map(metadata.packages).set('lib', pack).set('alpha', { ...metadata.packages.get('alpha')!, runtimeRequires: ['beta', 'lib'] });
    const r = composePackages({ metadata: { ...metadata, packages }, compose: metadata.composes.get('half')! });
    expect(!r.ok && r.error.code).toBe('E_COMPOSE_PACKAGES');
    expect(!r.ok && r.error.message).toBe('compose "half" (metadata/composes/half.toml):\n  lib: a pack, not a wheel (alpha needs it at run time); images are made of wheels');
    // the same closure in a wheelhouse leaves the pack out
    const wheelhouse = composePackages({ metadata: { ...metadata, packages }, compose: { ...metadata.composes.get('half')!, kind: 'wheelhouse' } });
    expect(wheelhouse.ok && wheelhouse.value).toEqual({ packages: ['alpha', 'beta'], pulledIn: ['beta'] });
    // a run-time requirement the metadata lacks is an error for either kind
    const lost = new Map(metadata.packages).set('alpha', { ...metadata.packages.get('alpha')!, runtimeRequires: ['gone'] });
    const unknown = composePackages({ metadata: { ...metadata, packages: lost }, compose: { ...metadata.composes.get('half')!, kind: 'wheelhouse' } });
    expect(!unknown.ok && unknown.error.message).toBe('compose "half" (metadata/composes/half.toml):\n  gone: no such package (alpha needs it at run time)');
  });

  describe('the CLI module', () => {
    // through the real dispatcher (src/cli/main.ts), as a user's command line goes
    const cli = (argv: string[]) => weld(['compose', 'image', ...argv], { cwd: project.root, env: env() });

    it('composes to out/images/<name>.oci.tar by default and prints JSON', async () => {
      const r = await cli(['app', '--no-load', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const j = summaryData<{ tag: string; manifest: string; out: string; loaded: null }>(r.stdout);
      const { events } = eventStream(r.stdout);
      expect(events.every((e) => e.subject?.kind === 'compose' && e.subject.name === 'app')).toBe(true);
      expect(events.filter((e) => e.type === 'installed').map((e) => (e.data as { file: string }).file)).toEqual(expect.arrayContaining(['alpha-1.0-py3-none-any.whl']));
      expect(events.at(-1)).toMatchObject({ type: 'phase', data: { detail: `writing ${j.out}` } });
      expect(j).toMatchObject({ tag: first.tag, manifest: first.manifest, out: path.join(project.root, 'out/images/app.oci.tar'), loaded: null });
      expect(readFileSync(j.out).equals(readFileSync(first.out))).toBe(true);
      const text = await cli(['app', '--no-load', '--out', 'elsewhere/x.tar']);
      expect(text.stdout).toMatch(new RegExp(`^app: 2 wheels, \\d+ files in a [\\d.]+ MiB layer; image ${first.manifest} composed in [\\d.]+ s\\napp: elsewhere/x\\.tar\\n$`));
      expect(text.stderr).toContain('app: alpha-1.0-py3-none-any.whl: ');
    });

    it('errors on an unknown compose, a wheelhouse compose, unbuilt packages, and no name when there are several', async () => {
      const unknown = await cli(['ap', '--no-load']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toBe('weld: error: no compose named "ap"; did you mean "app"?\nweld: hint: composes: app, bad, half, unbuilt, wheels (metadata/composes/<name>.toml)\n');
      const wheelhouse = await cli(['wheels', '--no-load']);
      expect(wheelhouse.code).toBe(2);
      expect(wheelhouse.stderr).toBe('weld: error: compose "wheels" is a wheelhouse, not an image (metadata/composes/wheels.toml)\nweld: hint: run `weld compose wheelhouse wheels`\n');
      const unbuilt = await cli(['unbuilt', '--no-load', '--runner', 'local']);
      expect(unbuilt.code).toBe(1);
      expect(unbuilt.stderr).toContain('weld: error: compose "unbuilt": a package has no build for the current metadata:\n  gamma: never built\nweld: hint: build them with `weld build --runner local gamma`\n');
      const none = await cli(['--no-load']);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('weld: error: weld compose image: name the compose: app, bad, half, unbuilt\n');
    });
  });

  it('keeps the image through a gc that keeps no builds or env images (a compose record is a root)', async () => {
    const gc = await store.gc({ keepRecords: false, graceMs: 0 });
    expect(gc.ok && gc.value.removedRecords.some((k) => k.startsWith('r/build/'))).toBe(true);
    expect(gc.ok && gc.value.removedRecords.some((k) => k.startsWith('r/compose/'))).toBe(false);
    for (const d of [first.manifest, first.config, ...first.layers, first.wheelManifest]) expect(existsSync(blobPath(store.layout, d))).toBe(true);
  });
});
