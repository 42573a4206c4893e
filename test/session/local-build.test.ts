import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../src/session/events.js';
import { buildProject, type BuildProject } from '../helpers/build-project.js';
import { REPO_ROOT, weld } from '../helpers/project.js';

// Real builds end to end: `weld mirror`, then `weld build` with the local runner and the
// real recipes/python-wheel.sh, into real stores. The fixture brings its own tiny PEP 517
// backend, so only python3 and pip are needed on the host.

describe('weld build / status / log with the local runner', () => {
  let project: BuildProject;
  beforeAll(async () => {
    project = await buildProject({
      packages: [
        { name: 'weldhello', files: { dir: path.join(REPO_ROOT, 'test/fixtures/weldhello') } },
        { name: 'weldbroken', files: { 'README.txt': 'no build system here\n' } },
        { name: 'weldafter', requires: ['weldbroken'], files: { dir: path.join(REPO_ROOT, 'test/fixtures/weldhello') } },
        { name: 'weldstale', files: { dir: path.join(REPO_ROOT, 'test/fixtures/weldhello') } },
      ],
    });
  });
  afterAll(() => project.cleanup());

  const cli = (argv: string[], store = 'store-a') => weld(argv, { cwd: project.root, env: { WELD_STORE: path.join(project.root, store), WELD_RUNNER: 'local' } });
  const doneEvent = (stdout: string) => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as BuildEvent).find((e) => e.type === 'done');

  it('builds a wheel, then reuses it, and reports it up to date', async () => {
    const first = await cli(['build', 'weldhello']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^weldhello: building \(never built\)$/m);
    expect(first.stdout).toMatch(/^weldhello: built weldhello-1\.0-py3-none-any\.whl in [\d.]+ s$/m);
    const second = await cli(['build', 'weldhello']);
    expect(second.stdout).toBe('weldhello: cached weldhello-1.0-py3-none-any.whl\n0 packages built, 1 cached, 0 tested, 0 failed, 0 skipped\n');
    const status = await cli(['status', 'weldhello']);
    expect(status.stdout).toMatch(/^weldhello {2}up to date {2}weldhello-1\.0-py3-none-any\.whl \(built \S+, key [0-9a-f]{12}\)$/m);
    const log = await cli(['log', 'weldhello']);
    expect(log.stdout).toContain('Successfully built weldhello');
  });

  it('builds the same wheel bytes into two empty stores, and --check agrees', async () => {
    const a = await cli(['build', 'weldhello', '--json'], 'store-b');
    const b = await cli(['build', 'weldhello', '--json'], 'store-c');
    const da = doneEvent(a.stdout);
    const db = doneEvent(b.stdout);
    expect(da?.type === 'done' && da.data.outputs[0]?.digest).toMatch(/^sha256:/);
    expect(da?.type === 'done' ? da.data.outputs : []).toEqual(db?.type === 'done' ? db.data.outputs : null);
    const check = await cli(['build', '--check', 'weldhello'], 'store-b');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('weldhello: check: outputs match the record');
  });

  it('reports a failed build with the tail of its log, skips its dependents, and `weld log` shows the attempt', async () => {
    const r = await cli(['build', 'weldafter']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^weldbroken: FAILED: the recipe exited with status \d+$/m);
    expect(r.stderr).toContain('weldbroken: last lines of the log:');
    expect(r.stderr).toMatch(/^weldbroken: the whole log: weld log weldbroken/m);
    expect(r.stderr).toContain('weldafter: skipped: dependency weldbroken did not build');
    expect(r.stderr).toMatch(/weld: error: build failed: weldbroken; skipped: weldafter\n/);
    const log = await cli(['log', 'weldbroken']);
    expect(log.stderr).toBe('weld: weldbroken: no successful build recorded; this is the log of the last attempt\n');
    // the attempt's whole log, as written while it ran, ending with the tail the failure showed
    const attempt = readFileSync(path.join(project.root, '.weld/logs/weldbroken.log'), 'utf8');
    expect(log.stdout).toBe(attempt);
    const tail = r.stderr.split('\n').filter((l) => l.startsWith('  ')).map((l) => l.slice(2));
    expect(tail.length).toBeGreaterThan(0);
    expect(log.stdout.trimEnd().endsWith(tail.join('\n'))).toBe(true);
    const status = await cli(['status', 'weldbroken', 'weldafter']);
    expect(status.stdout).toBe('weldbroken  needs build  never built\nweldafter   needs build  after weldbroken (its key needs their outputs)\n');
  });

  it('builds, with a warning, where the commit-time cache cannot be written', async () => {
    const cache = path.join(project.root, '.weld/cache/commit-times.json');
    rmSync(cache, { force: true });
    // a directory where the file goes: the write fails even for root
    mkdirSync(path.join(cache, 'in-the-way'), { recursive: true });
    try {
      const r = await cli(['build', 'weldhello']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('weldhello: cached weldhello-1.0-py3-none-any.whl\n');
      expect(r.stderr).toContain(`could not write the commit-time cache ${cache}`);
      const status = await cli(['status', 'weldhello']);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(/^weldhello {2}up to date/m);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('refuses a package whose lock no longer matches its metadata', async () => {
    const file = path.join(project.root, 'metadata/packages/weldstale.toml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('version = "1.0"', 'version = "1.0"\nrelease = 2'));
    const r = await cli(['build', 'weldstale']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('weldstale: FAILED: its entry in metadata/weld.lock is stale (version, upstream or patches changed since it was mirrored); run `weld mirror weldstale`');
    expect((await cli(['status', 'weldstale'])).stdout).toMatch(/^weldstale {2}cannot build {2}its entry in metadata\/weld\.lock is stale/);
  });

  it('names the known runners when given an unknown one', async () => {
    const r = await cli(['build', 'weldhello', '--runner', 'podmn']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('weld: error: unknown runner "podmn"; did you mean "podman"? known runners: podman, local\nweld: hint: pass --runner (or set WELD_RUNNER) to one of them\n');
  });

  it('says what to do for a package it does not know, or when there is no log yet', async () => {
    const r = await cli(['build', 'weldhelo']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('weld: error: weld build: no package named "weldhelo"; did you mean "weldhello"?');
    const log = await cli(['log', 'weldhello'], 'store-empty');
    expect(log.code).toBe(0); // the live log of the earlier build is still there
    const none = await weld(['log', 'weldafter'], { cwd: project.root, env: { WELD_STORE: path.join(project.root, 'store-empty'), WELD_RUNNER: 'local' } });
    expect(none.code).toBe(1);
    expect(none.stderr).toBe('weld: error: no build log for weldafter: it has not been built here\nweld: hint: run `weld build weldafter`\n');
  });
});
