import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync, mkdirSync, rmSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../src/session/events.js';
import { Podman } from '../../src/podman/podman.js';
import { openStore } from '../../src/store/store.js';
import { sampleProject, weld } from '../helpers/project.js';
import { sharedEnv } from './shared.js';

// The main job as a user runs it (`weld up`, what `npm start` runs) on the sample distro
// for s390x under podman, the checks of the earlier issues on its results, a second run
// that builds nothing, and the README's respin walk-through: a clone, a branch, one
// package bumped and patched, built into the same store beside the original.

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'weld', GIT_AUTHOR_EMAIL: 'weld@example.org', GIT_COMMITTER_NAME: 'weld', GIT_COMMITTER_EMAIL: 'weld@example.org' } }).trim();

function duBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n += statSync(path.join(e.parentPath, e.name)).size;
  return n;
}

const events = (stdout: string) => stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as BuildEvent);

describe('the main job on the sample distro (s390x, podman)', () => {
  let root: string;
  let cleanup: () => void;
  let env: NodeJS.ProcessEnv;
  let scratch: string;
  let podman: Podman;
  let imageTag = '';
  const storeDir = () => env['WELD_STORE']!;

  beforeAll(() => {
    ({ root, cleanup } = sampleProject());
    env = sharedEnv({ WELD_RUNNER: 'podman' });
    scratch = mkdtempSync(path.join(os.tmpdir(), 'weld-e2e-main-'));
    // The metadata is a git repository: respins are branches of it.
    git(root, 'init', '-q', '-b', 'main');
    git(root, 'add', '-A');
    git(root, 'commit', '-q', '-m', 'the sample distro');
    const p = Podman.open({ root, arch: 's390x', env });
    if (!p.ok) throw p.error;
    podman = p.value;
  });
  afterAll(async () => {
    if (imageTag) await podman.exec({ args: ['rmi', '-f', imageTag] });
    cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('weld up: doctor, envs, mirror, build, wheelhouse and image, with a summary', async () => {
    const t0 = performance.now();
    const r = await weld(['up', '--jobs', '2'], { cwd: root, env });
    const seconds = (performance.now() - t0) / 1000;
    expect(r.code, r.stdout.slice(-4000) + r.stderr.slice(-4000)).toBe(0);
    console.log(`weld up, first run: ${seconds.toFixed(1)} s; store ${(duBytes(storeDir()) / 2 ** 20).toFixed(1)} MiB`);
    // where the time went, step by step, for the CI log
    console.log(r.stderr.split('\n').filter((l) => /^== .*: [\d.]+ s$/.test(l)).join('\n'));
    expect(r.stdout).toMatch(/^weld up: done in [\d.]+ s$/m);
    // the first file of the e2e run (vitest.e2e.config.ts), so the shared store is empty
    expect(r.stdout).toMatch(/^ {2}packages: 6 packages built, 0 reused from the store$/m);
    // every wheel of the sample has a [test]: each ran on s390x (qemu) in the runtime image
    expect(r.stdout).toMatch(/^ {2}tests: 5 wheels passed on s390x \(5 run, 0 reused\)$/m);
    expect(r.stdout).toContain(`  wheelhouse default: ${path.join(root, 'out/wheelhouse/default')}`);
    imageTag = /^ {2}image python-runtime: (weld\/python-runtime:[0-9a-f]{12})/m.exec(r.stdout)?.[1] ?? '';
    expect(imageTag).not.toBe('');
    for (const step of ['weld doctor', 'weld env fetch bookworm-s390x', 'weld env compose bookworm-s390x-runtime', 'weld mirror --all', 'weld build --all', 'weld compose wheelhouse default', 'weld compose image python-runtime']) {
      expect(r.stderr).toContain(`] ${step}`);
    }
  });

  it('pip installs from the wheelhouse inside the runtime image, with no network', async () => {
    const ls = await weld(['env', 'ls', '--json'], { cwd: root, env });
    const runtime = (JSON.parse(ls.stdout) as Array<{ env: string; tag: string | null }>).find((e) => e.env === 'bookworm-s390x-runtime')!.tag!;
    const script = 'python3 -m pip install --no-cache-dir --disable-pip-version-check --break-system-packages --index-url file:///wheelhouse/simple jinja2 pyyaml msgpack toml && python3 -c "import jinja2, yaml, msgpack, toml; assert yaml.__with_libyaml__; print(jinja2.Template(\'{{ n }}\').render(n=msgpack.unpackb(msgpack.packb(7))))"';
    const r = await podman.run({ image: runtime, cmd: ['/bin/sh', '-c', script], mounts: [{ host: path.join(root, 'out/wheelhouse/default'), container: '/wheelhouse', readOnly: true }], env: { HOME: '/tmp' } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('7');
  });

  it('the composed image imports every sample package, libyaml included', async () => {
    const r = await podman.run({ image: imageTag, cmd: ['python3', '-c', 'import yaml, jinja2, markupsafe, toml, msgpack, markupsafe._speedups; assert yaml.__with_libyaml__; print("ok")'] });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('ok');
  });

  it("the tests imported the C extensions on s390x: pyyaml's yaml._yaml, markupsafe's _speedups", async () => {
    for (const [pkg, module] of [['pyyaml', 'yaml._yaml'], ['markupsafe', 'markupsafe._speedups']] as const) {
      const r = await weld(['log', '--test', pkg], { cwd: root, env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^test: python 3\.11\.\d+ on s390x$/m);
      expect(r.stdout).toMatch(new RegExp(`^test: import ${module.replace('.', '\\.')} ok \\(.*\\.cpython-311-s390x-linux-gnu\\.so\\)$`, 'm'));
      expect(r.stdout).toMatch(/^test: passed/m);
    }
  });

  it('a second weld up builds nothing and is quick', async () => {
    const t0 = performance.now();
    const r = await weld(['up', '--jobs', '2'], { cwd: root, env });
    const seconds = (performance.now() - t0) / 1000;
    expect(r.code, r.stdout.slice(-4000) + r.stderr.slice(-4000)).toBe(0);
    expect(r.stdout).toMatch(/^ {2}packages: 0 packages built, 6 reused from the store$/m);
    expect(r.stdout).toMatch(/^ {2}tests: 5 wheels passed on s390x \(0 run, 5 reused\)$/m);
    console.log(`weld up, second run: ${seconds.toFixed(1)} s`);
  });

  it('a respin: clone + branch, one package bumped and patched, builds only it; both variants live in one store', async () => {
    // Blobs only: the index is LevelDB, whose compactions may shrink it while records are added.
    const blobsDir = () => path.join(storeDir(), 'blobs');
    const before = duBytes(blobsDir());
    // Blobs are content-addressed: one the store had already (the test's log often is, when
    // the wheel's name did not change) adds nothing, so only new ones count as produced.
    const blobPath = (d: string) => path.join(storeDir(), 'blobs/sha256', d.slice(7, 9), d.slice(9));
    const blobsBefore = new Set(readdirSync(path.join(blobsDir(), 'sha256'), { recursive: true }).map(String).map((f) => path.basename(f)));
    const indexBefore = duBytes(path.join(storeDir(), 'index'));
    // git clone + git branch of the metadata
    const clone = path.join(scratch, 'respin');
    git(scratch, 'clone', '-q', root, clone);
    git(clone, 'switch', '-q', '-c', 'respin-1');
    const tomlFile = path.join(clone, 'metadata/packages/toml.toml');
    writeFileSync(tomlFile, readFileSync(tomlFile, 'utf8').replace('release = 1', 'release = 2'));
    const init = execFileSync('git', ['--git-dir', path.join(env['WELD_MIRRORS']!, 'toml.git'), 'show', 'distro:toml/__init__.py'], { encoding: 'utf8' });
    mkdirSync(path.join(clone, 'metadata/patches/toml'), { recursive: true });
    const patch = createTwoFilesPatch('a/toml/__init__.py', 'b/toml/__init__.py', init, `${init}\nRESPIN = "respin-1"\n`, '', '', { context: 3 });
    writeFileSync(path.join(clone, 'metadata/patches/toml/0001-mark-the-respin.patch'), `Subject: [PATCH] mark the respin\n\n${patch.replace(/^Index:.*\n=+\n/, '')}`);
    const mirrored = await weld(['mirror', 'toml'], { cwd: clone, env });
    expect(mirrored.code, mirrored.stdout + mirrored.stderr).toBe(0);
    git(clone, 'add', '-A');
    git(clone, 'commit', '-q', '-m', 'toml: respin with a patch');

    const built = await weld(['build', '--all', '--json'], { cwd: clone, env });
    expect(built.code, built.stdout.slice(-3000) + built.stderr).toBe(0);
    const ev = events(built.stdout);
    expect(ev.filter((e) => e.type === 'done').map((e) => e.subject?.name)).toEqual(['toml']);
    expect(ev.filter((e) => e.type === 'cached').map((e) => e.subject?.name).sort()).toEqual(['jinja2', 'libyaml', 'markupsafe', 'msgpack', 'pyyaml']);
    const done = ev.find((e): e is Extract<BuildEvent, { type: 'done' }> => e.type === 'done')!;

    // Store growth against what the rebuild produced: its outputs, log, provenance and record.
    const after = duBytes(blobsDir());
    const indexAfter = duBytes(path.join(storeDir(), 'index'));
    const store = await openStore({ path: storeDir(), create: false });
    if (!store.ok) throw store.error;
    const got = await store.value.getRecord('build', done.data.key);
    if (!got.ok || !got.value) throw new Error('no record of the respin build');
    const record = got.value.data;
    const blobSize = (d: string | null | undefined) => (d && !blobsBefore.has(d.slice(9)) ? statSync(blobPath(d)).size : 0);
    // its test ran too (a new wheel is a new test key): the test's log and record are what it produced as well
    const tested = ev.find((e): e is Extract<BuildEvent, { type: 'tested' }> => e.type === 'tested' && e.subject.name === 'toml');
    const test = tested ? await store.value.getRecord('test', tested.data.testKey) : undefined;
    const testRecord = test?.ok ? test.value?.data : undefined;
    expect(testRecord?.passed).toBe(true);
    const produced = done.data.outputs.reduce((n, o) => n + blobSize(o.digest), 0) + blobSize(record.log) + blobSize(record.provenance) + blobSize(record.repair?.report) + blobSize(testRecord?.log);
    const records = JSON.stringify(record).length + JSON.stringify(testRecord).length;
    console.log(`store blobs: ${(before / 2 ** 20).toFixed(2)} MiB after the main job, ${(after / 2 ** 20).toFixed(2)} MiB after the respin build; growth ${after - before} bytes = ${((after - before) / produced).toFixed(2)}× the rebuilt package's outputs + log + provenance + its test's log (${produced} bytes); index ${indexAfter - indexBefore} bytes for ${records} bytes of records`);
    // A respin stores what it rebuilt and next to nothing else (the bound of the main-job issue).
    expect(after - before).toBeGreaterThanOrEqual(produced);
    expect(after - before).toBeLessThanOrEqual(1.1 * produced);

    // The original checkout builds and composes the branch without checking it out.
    git(root, 'fetch', '-q', clone, 'respin-1:respin-1');
    const atRef = await weld(['build', '--all', '--ref', 'respin-1', '--json'], { cwd: root, env });
    expect(atRef.code, atRef.stdout.slice(-3000) + atRef.stderr).toBe(0);
    expect(events(atRef.stdout).filter((e) => e.type === 'done')).toEqual([]);
    const manifests: Record<string, Array<{ package: string; digest: string }>> = {};
    for (const ref of ['respin-1', 'main']) {
      const out = path.join(scratch, `wheelhouse-${ref}`);
      const c = await weld(['compose', 'wheelhouse', '--ref', ref, '--out', out], { cwd: root, env });
      expect(c.code, c.stdout + c.stderr).toBe(0);
      manifests[ref] = (JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { wheels: Array<{ package: string; digest: string }> }).wheels;
    }
    const digestOf = (ref: string, pkg: string) => manifests[ref]!.find((w) => w.package === pkg)!.digest;
    expect(digestOf('respin-1', 'toml')).not.toBe(digestOf('main', 'toml'));
    expect(digestOf('respin-1', 'toml')).toBe(done.data.outputs[0]!.digest);
    expect(digestOf('respin-1', 'jinja2')).toBe(digestOf('main', 'jinja2'));
  });
});
