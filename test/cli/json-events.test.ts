import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProject, type BuildProject } from '../helpers/build-project.js';
import { eventStream } from '../helpers/event-lines.js';
import { REPO_ROOT, weld } from '../helpers/project.js';

// `weld build --json` is the same stream as every other verb's: events of the core shape
// about packages, then one summary line — or, when the build fails, the error line.
describe('weld build --json', () => {
  let project: BuildProject;
  beforeAll(async () => {
    project = await buildProject({
      packages: [
        { name: 'weldhello', files: { dir: path.join(REPO_ROOT, 'test/fixtures/weldhello') } },
        { name: 'weldbroken', files: { 'README.txt': 'no build system here\n' } },
      ],
    });
  });
  afterAll(() => project.cleanup());
  const cli = (argv: string[]) => weld(argv, { cwd: project.root, env: { WELD_STORE: path.join(project.root, 'store'), WELD_RUNNER: 'local' } });

  it('a build, then the no-op: package events, then the summary', async () => {
    const first = await cli(['build', 'weldhello', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const built = eventStream(first.stdout);
    expect([...new Set(built.events.map((e) => e.type))]).toEqual(['started', 'log', 'done']);
    expect(built.events.every((e) => e.subject?.kind === 'package' && e.subject.name === 'weldhello')).toBe(true);
    expect(built.summary).toMatchObject({ type: 'summary', data: { built: ['weldhello'], cached: [], failed: [], skipped: [] } });
    expect(built.summary!.subject).toBeUndefined();
    const again = eventStream((await cli(['build', 'weldhello', '--json'])).stdout);
    expect(again.events.map((e) => e.type)).toEqual(['cached']);
    expect(again.summary!.data).toMatchObject({ built: [], cached: ['weldhello'] });
  });

  it('a failed build: its failed event with the typed error, then the error line', async () => {
    const r = await cli(['build', 'weldbroken', '--json']);
    expect(r.code).toBe(1);
    const s = eventStream(r.stdout);
    expect(s.summary).toBeUndefined();
    expect(s.events.find((e) => e.type === 'failed')).toMatchObject({ subject: { kind: 'package', name: 'weldbroken' }, data: { error: { code: 'E_RUN_FAILED' } } });
    expect(s.error).toMatchObject({ code: 'E_BUILD_FAILED' });
  });
});
