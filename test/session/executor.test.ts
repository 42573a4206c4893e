import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../src/session/build.js';
import type { BuildEvent } from '../../src/session/events.js';
import type { BuildSummary } from '../../src/session/executor.js';
import { referencedDigests, type BuildRecord } from '../../src/store/records.js';
import type { Store } from '../../src/store/store.js';
import { buildProject, type BuildProject, type FixturePackage } from '../helpers/build-project.js';
/** What a summary says of each failed or skipped package: its error's code and message. */
const outcomes = (list: Array<{ pkg: string; error: { code: string; message: string } }>) => list.map((f) => ({ pkg: f.pkg, code: f.error.code, message: f.error.message }));
import { FakeRunner, type FakeProgram } from '../helpers/fake-runner.js';
import { freshStore, tempDir } from '../helpers/store-temp.js';

// The executor with real mirrors and a real store; only the runner is the fake.
const base = (payload: string, notes: string): FixturePackage => ({ name: 'base', kind: 'pack', recipe: 'fake', files: { payload, 'notes.txt': notes } });
const PACKAGES: FixturePackage[] = [
  base('base-1', 'first notes'),
  { name: 'mid', recipe: 'fake', requires: ['base'], files: { payload: 'mid-1' } },
  { name: 'top', recipe: 'fake', requires: ['mid'], files: { payload: 'top-1' } },
  { name: 'side', recipe: 'fake', requires: ['base'], files: { payload: 'side-1' } },
  { name: 'lone', recipe: 'fake', files: { payload: 'lone-1' } },
];

/** Outputs depend on the source's payload only, so other source changes rebuild to the same bytes. */
const produce: FakeProgram = async (c) => {
  const payload = await readFile(path.join(c.spec.srcDir, 'payload'), 'utf8');
  c.log(`building ${c.pkg}`);
  if (c.pkg === 'base') await c.write('prefix/lib/libbase.txt', payload);
  else await c.write(`wheels/${c.pkg}-1.0-py3-none-any.whl`, payload);
  return 0;
};

describe('build executor (fake runner)', () => {
  let project: BuildProject;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    project = await buildProject({ packages: PACKAGES, recipes: { fake: '#!/bin/sh\n# run by the fake runner, never by a shell\nexit 0\n' } });
  });
  afterAll(async () => {
    for (const c of cleanups) await c();
    project.cleanup();
  });

  async function newStore(): Promise<Store> {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    return freshStore(t.dir);
  }

  async function run(opts: { store: Store; runner: FakeRunner; targets?: string[]; jobs?: number; check?: boolean; signal?: AbortSignal; onEvent?: (e: BuildEvent) => void }) {
    const metadata = await project.metadata();
    const events: BuildEvent[] = [];
    const r = await build({
      metadata,
      store: opts.store,
      runner: opts.runner,
      mirrorsDir: path.join(project.root, 'mirrors'),
      targets: opts.targets ?? [...metadata.packages.keys()],
      jobs: opts.jobs ?? 2,
      weldVersion: '0.0.0-test',
      workRoot: os.tmpdir(),
      ...(opts.check ? { check: true } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      onEvent: (e) => {
        events.push(e);
        opts.onEvent?.(e);
      },
    });
    if (!r.ok) throw r.error;
    return { summary: r.value as BuildSummary, events };
  }

  async function buildRecords(store: Store): Promise<BuildRecord[]> {
    const listed = await store.listRecords({ kind: 'build' });
    if (!listed.ok) throw listed.error;
    return listed.value.map((r) => (r.ok ? (r.value.data as BuildRecord) : undefined)).filter((r): r is BuildRecord => r !== undefined);
  }

  it('builds in dependency order, stores every blob before the record, then reuses every record', async () => {
    const store = await newStore();
    const runner = new FakeRunner(produce);
    const first = await run({ store, runner });
    expect(first.summary.built).toEqual(['base', 'lone', 'mid', 'side', 'top']);
    const at = (p: string) => runner.started.indexOf(p);
    expect(at('base')).toBeLessThan(at('mid'));
    expect(at('mid')).toBeLessThan(at('top'));
    expect(at('base')).toBeLessThan(at('side'));

    const records = await buildRecords(store);
    expect(records.map((r) => r.package).sort()).toEqual(['base', 'lone', 'mid', 'side', 'top']);
    for (const r of records) {
      for (const d of referencedDigests({ kind: 'build', id: r.cacheKey, data: r })) expect(await store.has(d)).toBe(true);
      expect(r.runner).toBe('fake');
    }
    const mid = records.find((r) => r.package === 'mid')!;
    const baseRec = records.find((r) => r.package === 'base')!;
    expect(baseRec.outputs.map((o) => o.name)).toEqual(['prefix.tar']);
    expect(mid.dependencies).toEqual({ base: [baseRec.outputs[0]!.digest] });
    const metadata = await project.metadata();
    const prov = JSON.parse(await readBlob(store, mid.provenance!)) as { predicateType: string; subject: unknown[]; predicate: { buildDefinition: { resolvedDependencies: Array<{ name: string; digest: Record<string, string> }> }; runDetails: { builder: { id: string } } } };
    expect(prov.predicateType).toBe('https://slsa.dev/provenance/v1');
    expect(prov.predicate.runDetails.builder.id).toBe('weld/fake');
    expect(prov.predicate.buildDefinition.resolvedDependencies.map((d) => d.name)).toEqual(['source', 'recipe:fake', 'env-image', 'repair-program', 'dependency:base']);
    // A pure wheel needs no repair: the step does not run (the fake ran each package once), and the record says so.
    expect(mid.repair).toEqual({ policy: 'manylinux', program: mid.repair!.program, report: null, wheels: [{ input: 'mid-1.0-py3-none-any.whl', output: 'mid-1.0-py3-none-any.whl', tag: 'any', action: 'kept', grafted: [], setBy: [] }] });
    expect(baseRec.repair).toBeUndefined();
    expect(prov.predicate.buildDefinition.resolvedDependencies[0]!.digest['gitTree']).toBe(metadata.lock['mid']!.tree);
    expect(await readBlob(store, mid.log!)).toBe('building mid\n');

    const again = new FakeRunner(produce);
    const second = await run({ store, runner: again });
    expect(again.started).toEqual([]);
    expect(second.summary.cached).toEqual(['base', 'lone', 'mid', 'side', 'top']);
    expect(second.events.filter((e) => e.type === 'cached')).toHaveLength(5);
  });

  it('runs independent builds in parallel up to --jobs', async () => {
    const slow: FakeProgram = async (c) => (await c.wait(300), produce(c));
    const one = new FakeRunner(slow);
    await run({ store: await newStore(), runner: one, jobs: 1 });
    expect(one.maxConcurrent).toBe(1);
    const two = new FakeRunner(slow);
    await run({ store: await newStore(), runner: two, jobs: 2 });
    expect(two.maxConcurrent).toBe(2);
  });

  it('stops the dependents of a failure and nothing else', async () => {
    const store = await newStore();
    const runner = new FakeRunner(async (c) => (c.pkg === 'mid' ? (c.log('mid is broken'), 1) : produce(c)));
    const { summary, events } = await run({ store, runner });
    expect(outcomes(summary.failed)).toEqual([{ pkg: 'mid', code: 'E_RUN_FAILED', message: 'the recipe exited with status 1' }]);
    expect(outcomes(summary.skipped)).toEqual([{ pkg: 'top', code: 'E_DEPENDENCY_FAILED', message: 'dependency mid did not build' }]);
    expect(summary.built).toEqual(['base', 'lone', 'side']);
    const failed = events.find((e) => e.type === 'failed');
    expect(failed).toMatchObject({ type: 'failed', subject: { kind: 'package', name: 'mid' }, data: { logTail: ['mid is broken'] } });
    // one failure, one error: the event and the summary carry the same typed error, and --json keeps its code
    expect(failed?.type === 'failed' && failed.data.error).toBe(summary.failed[0]!.error);
    expect(JSON.parse(JSON.stringify(failed))).toMatchObject({ data: { error: { code: 'E_RUN_FAILED', failure: 'exit', exitCode: 1 } } });
    expect((await buildRecords(store)).map((r) => r.package).sort()).toEqual(['base', 'lone', 'side']);
  });

  it('fails a wheel build that leaves no wheel', async () => {
    const runner = new FakeRunner(async (c) => (c.pkg === 'lone' ? 0 : produce(c)));
    const { summary } = await run({ store: await newStore(), runner, targets: ['lone'] });
    expect(outcomes(summary.failed)).toEqual([{ pkg: 'lone', code: 'E_BUILD_STEP', message: 'the recipe exited 0 but left no wheel in $WELD_OUT/wheels/' }]);
  });

  it('on abort stops running builds and leaves no record of them', async () => {
    const store = await newStore();
    const abort = new AbortController();
    const runner = new FakeRunner(async (c) => (c.pkg === 'base' ? (await c.wait(30_000), 0) : produce(c)));
    const { summary } = await run({ store, runner, targets: ['top', 'side'], signal: abort.signal, onEvent: (e) => e.type === 'started' && e.subject.name === 'base' && setTimeout(() => abort.abort(), 100) });
    expect(outcomes(summary.failed)).toEqual([{ pkg: 'base', code: 'E_BUILD_CANCELLED', message: 'cancelled' }]);
    expect(summary.skipped.map((s) => s.pkg)).toEqual(['mid', 'side', 'top']);
    expect(await buildRecords(store)).toEqual([]);
  });

  it('--check rebuilds and compares the outputs with the record', async () => {
    const store = await newStore();
    await run({ store, runner: new FakeRunner(produce), targets: ['lone'] });
    const same = await run({ store, runner: new FakeRunner(produce), targets: ['lone'], check: true });
    expect(same.summary.checks).toEqual({ lone: { compared: true, match: true, differences: [] } });
    const drift = await run({ store, runner: new FakeRunner(async (c) => (await c.write('wheels/lone-1.0-py3-none-any.whl', String(Math.random())), 0)), targets: ['lone'], check: true });
    expect(drift.summary.checks['lone']?.match).toBe(false);
    expect(drift.summary.checks['lone']?.differences[0]).toMatch(/^lone-1.0-py3-none-any.whl: sha256:\w+ recorded, sha256:\w+ rebuilt$/);
    // The recorded build stays the reference.
    expect((await buildRecords(store)).length).toBe(1);
  });

  it('does not rebuild dependents of a dependency that rebuilt to identical bytes (early cut-off)', async () => {
    const store = await newStore();
    await run({ store, runner: new FakeRunner(produce) });
    await project.release(base('base-1', 'notes changed, payload not'));
    const runner = new FakeRunner(produce);
    const { summary, events } = await run({ store, runner });
    expect(runner.started).toEqual(['base']);
    expect(summary.cached).toEqual(['lone', 'mid', 'side', 'top']);
    expect(events.find((e) => e.type === 'started')).toMatchObject({ subject: { name: 'base' }, data: { changed: [expect.stringMatching(/^source tree \w{12} → \w{12}$/)] } });

    await project.release(base('base-2', 'notes changed, payload not'));
    const again = new FakeRunner(produce);
    const { summary: after } = await run({ store, runner: again });
    // base's new bytes rebuild mid and side; mid's own bytes do not change, so top stays cached.
    expect([...again.started].sort()).toEqual(['base', 'mid', 'side']);
    expect(after.cached).toEqual(['lone', 'top']);
  });
});

async function readBlob(store: Store, digest: `sha256:${string}`): Promise<string> {
  const s = await store.get(digest);
  if (!s.ok) throw s.error;
  let text = '';
  for await (const c of s.value) text += (c as Buffer).toString('utf8');
  return text;
}
