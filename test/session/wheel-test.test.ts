import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../src/session/events.js';
import { openStore } from '../../src/store/store.js';
import { buildProject, type BuildProject, type FixturePackage } from '../helpers/build-project.js';
import { cextWheelRecipe, DEMO_PACK_RECIPE, FIXTURE } from '../helpers/cext.js';
import { REPO_ROOT, weld } from '../helpers/project.js';

// The test step in real builds (local runner, the real recipes/lib/test-step.sh): wheels
// are installed by unpacking, [test] imports run in one interpreter, commands in a shell.
// A C extension linked against a pack's library imports once wheel repair grafted the
// library into the wheel, and fails to import when repair is off: the failure the test
// step exists to catch before a compose hands the wheel out.

const PACK = DEMO_PACK_RECIPE;
const WHEEL = cextWheelRecipe({ getrandom: false });

const hello = { dir: path.join(REPO_ROOT, 'test/fixtures/weldhello') };
const SRC_COMMANDS = `imports = ["weldhello"]\ncommands = ['test -f "$WELD_SRC/pyproject.toml"', '''python3 -c "import os, weldhello; assert weldhello.__file__.startswith(os.environ['WELD_TEST_SITE'])"''']`;

describe('the wheel test step (local runner)', () => {
  let project: BuildProject;
  const cext = (): Record<string, string> => Object.fromEntries(['_ext.c', 'mkwheel.py', 'weldcext/__init__.py'].map((n) => [n, readFileSync(path.join(FIXTURE, n), 'utf8')]));
  const weldsrc = (test: string): FixturePackage => ({ name: 'weldsrc', files: hello, test });
  beforeAll(async () => {
    project = await buildProject({
      packages: [
        { name: 'demo', kind: 'pack', recipe: 'demo-pack', files: { 'demo.c': readFileSync(path.join(FIXTURE, 'demo.c'), 'utf8') } },
        { name: 'weldhello', files: hello, test: 'imports = ["weldhello"]' },
        { name: 'weldcext', recipe: 'cext-wheel', requires: ['demo'], runtimeRequires: ['weldhello'], files: cext(), test: 'imports = ["weldcext", "weldcext._ext"]' },
        { name: 'weldraw', recipe: 'cext-wheel', requires: ['demo'], repair: 'none', files: cext(), test: 'imports = ["weldcext._ext"]' },
        { name: 'weldafter', requires: ['weldraw'], files: hello },
        weldsrc(SRC_COMMANDS),
        { name: 'weldlater', files: hello, test: 'imports = ["weldhello"]' },
        // weldloop's test would install weldtop, which is built from weldloop
        { name: 'weldloop', files: hello, runtimeRequires: ['weldtop'], test: 'imports = ["weldhello"]' },
        { name: 'weldtop', requires: ['weldloop'], files: hello },
      ],
      recipes: { 'demo-pack': PACK, 'cext-wheel': WHEEL },
    });
    mkdirSync(path.join(project.root, 'metadata/composes'), { recursive: true });
    writeFileSync(path.join(project.root, 'metadata/composes/raw.toml'), '[compose]\nkind = "wheelhouse"\npackages = ["weldraw"]\n');
    writeFileSync(path.join(project.root, 'metadata/composes/src.toml'), '[compose]\nkind = "wheelhouse"\npackages = ["weldsrc"]\n');
  });
  afterAll(() => project.cleanup());

  const storeDir = () => path.join(project.root, 'store');
  const cli = (argv: string[]) => weld(argv, { cwd: project.root, env: { WELD_STORE: storeDir(), WELD_RUNNER: 'local' } });
  const events = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as BuildEvent & { type: string });
  const ofType = (evs: BuildEvent[], type: string) => evs.filter((e) => e.type === type).map((e) => e.subject?.name).sort();

  it('tests a repaired wheel with its run-time requirement installed, records the test, and reuses it', async () => {
    const r = await cli(['build', 'weldcext', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const evs = events(r.stdout);
    // weldhello is built and tested too: weldcext's test installs it
    expect(ofType(evs, 'testing')).toEqual(['weldcext', 'weldhello']);
    expect(ofType(evs, 'tested')).toEqual(['weldcext', 'weldhello']);
    const lines = evs.filter((e) => e.type === 'log' && e.subject?.name === 'weldcext').map((e) => (e.data as { line: string }).line);
    expect(lines).toContain('test: installed weldhello-1.0-py3-none-any.whl');
    expect(lines.some((l) => /^test: import weldcext\._ext ok \(.*\/site\/weldcext\/_ext/.test(l))).toBe(true);
    const tested = evs.find((e) => e.type === 'tested' && e.subject?.name === 'weldcext');
    const key = (tested?.data as { testKey: string }).testKey;
    const store = await openStore({ path: storeDir(), create: false });
    if (!store.ok) throw store.error;
    const rec = await store.value.getRecord('test', key);
    expect(rec.ok && rec.value?.data).toMatchObject({ package: 'weldcext', passed: true, env: 'bookworm-s390x-runtime', spec: { imports: ['weldcext', 'weldcext._ext'], commands: [], requires: [] }, requirements: { weldhello: [expect.stringMatching(/^sha256:/)] } });

    const again = await cli(['build', 'weldcext', '--json']);
    expect(again.code).toBe(0);
    const evs2 = events(again.stdout);
    expect(ofType(evs2, 'testing')).toEqual([]);
    expect(evs2.filter((e) => e.type === 'tested').map((e) => [e.subject?.name, (e.data as { reused: boolean }).reused])).toEqual(expect.arrayContaining([['weldcext', true], ['weldhello', true]]));
    const plain = await cli(['build', 'weldcext']);
    expect(plain.stdout).toMatch(/^0 packages built, 3 cached, 2 tested \(2 reused\), 0 failed, 0 skipped$/m);
  });

  it('fails a wheel whose extension cannot import (no repair: the library was not grafted), skips its dependents, and composes refuse it', async () => {
    const r = await cli(['build', 'weldafter']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^weldraw: FAILED: test failed: import weldcext\._ext: ImportError: libdemo\.so\.1: cannot open shared object file/m);
    expect(r.stderr).toContain('weldraw: last lines of the log:');
    expect(r.stderr).toMatch(/^weldraw: the whole log: weld log --test weldraw/m);
    expect(r.stderr).toMatch(/^weldafter: skipped: dependency weldraw did not build$/m);
    const status = await cli(['status', 'weldraw']);
    expect(status.stdout).toMatch(/^weldraw {2}test failed {2}import weldcext\._ext: ImportError: libdemo\.so\.1/m);
    expect(status.stdout).toContain('weldraw: last lines of the test log:');
    const log = await cli(['log', '--test', 'weldraw']);
    expect(log.stdout).toContain('libdemo.so.1: cannot open shared object file');
    const compose = await cli(['compose', 'wheelhouse', 'raw', '--out', path.join(project.root, 'out-raw')]);
    expect(compose.code).toBe(1);
    expect(compose.stderr).toContain('compose "raw": a wheel failed its test, and a compose takes no wheel that did:');
    expect(compose.stderr).toContain('weld log --test weldraw');
    // A failed test is run again next time (it may have been the env's fault), the build is not.
    const again = await cli(['build', 'weldraw', '--json']);
    const evs = events(again.stdout);
    expect(ofType(evs, 'started')).toEqual([]);
    expect(ofType(evs, 'testing')).toEqual(['weldraw']);
    expect(ofType(evs, 'test-failed')).toEqual(['weldraw']);
  });

  it('refuses to test a wheel whose test installs a package built from the wheel itself, and says how to fix it', async () => {
    const r = await cli(['build', 'weldloop']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^weldloop: FAILED: .*cannot test: the test installs weldtop, which build-requires weldloop itself; move it to \[test\] of another package$/m);
    expect(r.stderr).toMatch(/^weldtop: skipped: dependency weldloop did not build$/m);
  });

  it('runs commands that see the source tree; a changed test spec reruns the test, not the build', async () => {
    const first = await cli(['build', 'weldsrc', '--json']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    await project.release(weldsrc(`${SRC_COMMANDS.replace(/\]$/, ", 'echo more']")}`));
    const second = await cli(['build', 'weldsrc', '--json']);
    expect(second.code).toBe(0);
    const evs = events(second.stdout);
    expect(ofType(evs, 'cached')).toEqual(['weldsrc']);
    expect(ofType(evs, 'testing')).toEqual(['weldsrc']);
    expect(evs.some((e) => e.type === 'log' && (e.data as { line: string }).line === 'more')).toBe(true);
  });

  it('--no-test builds without testing, status and composes say untested, and `weld test` tests without building', async () => {
    await project.release(weldsrc(`${SRC_COMMANDS.replace(/\]$/, ", 'echo third']")}`));
    const built = await cli(['build', 'weldsrc', '--no-test', '--json']);
    expect(built.code).toBe(0);
    expect(ofType(events(built.stdout), 'testing')).toEqual([]);
    const status = await cli(['status', 'weldsrc']);
    expect(status.stdout).toMatch(/^weldsrc {2}untested {2}not tested since it was built/m);
    const compose = await cli(['compose', 'wheelhouse', 'src', '--out', path.join(project.root, 'out-src')]);
    expect(compose.code).toBe(0);
    expect(compose.stderr).toContain('weld: warning: compose "src": this wheel goes in untested: weldsrc (`weld test weldsrc` tests it)');
    const tested = await cli(['test', 'weldsrc', '--json']);
    expect(tested.code).toBe(0);
    const evs = events(tested.stdout);
    expect(ofType(evs, 'started')).toEqual([]);
    expect(ofType(evs, 'testing')).toEqual(['weldsrc']);
    const status2 = await cli(['status', 'weldsrc']);
    expect(status2.stdout).toMatch(/^weldsrc {2}up to date {2}.*, tested$/m);
  });

  it('`weld test` of a package that was never built fails and says what to build', async () => {
    const r = await cli(['test', 'weldlater']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('weldlater: FAILED: not built: run `weld build weldlater` first');
  });
});
