import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRunner } from '../../src/runner/local.js';
import { openSession } from '../../src/session/session.js';
import { openStore, type Store } from '../../src/store/store.js';
import { buildProject, type BuildProject } from '../helpers/build-project.js';
import { REPO_ROOT } from '../helpers/project.js';

// compose --build and weld up compose what the build just made: the session's own build
// says which records are current, so the compose plans nothing again (no second DAG walk,
// no index session for a plan).

describe('a session after its build', () => {
  let project: BuildProject;
  let store: Store;
  beforeAll(async () => {
    project = await buildProject({ packages: [{ name: 'weldhello', files: { dir: path.join(REPO_ROOT, 'test/fixtures/weldhello') } }] });
    const s = await openStore({ path: path.join(project.root, 'store') });
    if (!s.ok) throw s.error;
    store = s.value;
  });
  afterAll(() => project.cleanup());

  it('gives the records the build ended with as the current builds, without planning again', { timeout: 120_000 }, async () => {
    const metadata = await project.metadata();
    // The real store, with its index sessions counted by purpose.
    const purposes: string[] = [];
    const withIndex = store.withIndex.bind(store);
    const counted = Object.assign(Object.create(Object.getPrototypeOf(store) as object) as Store, store, {
      withIndex: ((purpose, fn) => {
        purposes.push(purpose);
        return withIndex(purpose, fn);
      }) as Store['withIndex'],
    });
    const session = openSession({ metadata, store: counted, runner: new LocalRunner(), mirrorsDir: path.join(project.root, 'mirrors'), weldVersion: 'test' });
    const built = await session.build({ targets: ['weldhello'], jobs: 1 });
    if (!built.ok) throw built.error;
    expect(built.value.built).toEqual(['weldhello']);
    const plansDuringBuild = purposes.filter((p) => p === 'plan builds').length;
    expect(plansDuringBuild).toBe(1);

    const current = await session.currentBuilds(['weldhello']);
    if (!current.ok) throw current.error;
    expect(purposes.filter((p) => p === 'plan builds').length).toBe(plansDuringBuild);
    const c = current.value.get('weldhello')!;
    expect(c.state).toBe('built');
    // the very record the store now holds for that key
    const planned = await openSession({ metadata, store, runner: new LocalRunner(), mirrorsDir: path.join(project.root, 'mirrors') }).currentBuilds(['weldhello']);
    if (!planned.ok) throw planned.error;
    expect(c).toEqual(planned.value.get('weldhello'));
    expect(c.state === 'built' && c.record.outputs.map((o) => o.name)).toEqual(['weldhello-1.0-py3-none-any.whl']);
  });
});
