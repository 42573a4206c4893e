import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostArch } from '../../src/podman/arch.js';
import { BackendPool } from '../../src/runner/backends/pool.js';
import { selectRunner } from '../../src/runner/select.js';
import { startService, type RunningService } from '../../src/service/server.js';
import { buildProject, type BuildProject } from '../helpers/build-project.js';
import { git } from '../helpers/git.js';
import { hostContainersConf, installTinyEnv, podmanService, type PodmanService } from '../helpers/podman-services.js';
import { tempDir } from '../helpers/store-temp.js';
import { weld } from '../helpers/project.js';
import { submit, waitForState } from './fixture.js';

// A service job whose builds go to build backends: two real podman engines, one pool for
// the server, a job's selector honoured, and where each package went in the job's view.

describe('the build service on build backends', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let project: BuildProject;
  let a: PodmanService;
  let b: PodmanService;
  let server: RunningService;
  let pool: BackendPool;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('weld-service-backends-'));
    const recipe = 'echo "building $WELD_PACKAGE"\nmkdir -p "$WELD_OUT/wheels"\necho "$WELD_PACKAGE" > "$WELD_OUT/wheels/$WELD_PACKAGE-1.0-py3-none-any.whl"\n';
    project = await buildProject({ packages: ['one', 'two', 'three'].map((name) => ({ name, recipe: 'quick', files: { README: `${name}\n` } })), recipes: { quick: recipe } });
    const { store } = await installTinyEnv({ root: project.root, dir, distro: '\n[sources]\nallow_paths = ["../releases"]\n' });
    const repo = project.root;
    writeFileSync(path.join(repo, '.gitignore'), 'store/\nmirrors/\n.weld/\n');
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'metadata');
    const podmanEnv = hostContainersConf(repo);
    [a, b] = await Promise.all([podmanService({ dir, name: 'a', env: podmanEnv }), podmanService({ dir, name: 'b', env: podmanEnv })]);
    pool = new BackendPool({ backends: [a, b].map((s) => ({ name: s.name, url: s.url, arch: hostArch(), labels: { engine: s.name }, maxJobs: 2 })) });
    const r = await startService({
      stateDir: path.join(dir, 'state'),
      storePath: store.path,
      mirrorsDir: path.join(dir, 'mirrors'),
      runnerName: 'podman',
      makeRunner: ({ metadata, store: s, env }) => selectRunner({ name: 'podman', context: { metadata, store: s, env, pool } }),
      backends: { pool, file: path.join(dir, 'backends.toml') },
      host: '127.0.0.1',
      port: 0,
      cwd: repo,
      env: { ...process.env, WELD_ALLOW_PATHS: path.join(path.dirname(repo), 'releases') },
      config: {},
      weldVersion: 'test',
      log: () => {},
    });
    if (!r.ok) throw r.error;
    server = r.value;
  }, 180_000);

  afterAll(async () => {
    await server?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    project?.cleanup();
    await cleanup();
  }, 120_000);

  it('builds a job on the backends its selector picks, and says where each package went', async () => {
    const job = await submit({ url: server.url, body: { repository: project.root, ref: 'main', all: true, selector: { engine: 'b' } } });
    expect(job.status, JSON.stringify(job.body)).toBe(201);
    const done = await waitForState({ url: server.url, id: job.body['id'] as string, states: ['ready', 'done', 'failed'], timeoutMs: 120_000 });
    expect(done['state'], JSON.stringify(done['error'] ?? done['packageStates'])).toBe('ready');
    expect(done['selector']).toEqual({ engine: 'b' });
    const states = done['packageStates'] as Record<string, { state: string; backend?: string }>;
    expect(Object.fromEntries(Object.entries(states).map(([p, s]) => [p, [s.state, s.backend]]))).toEqual({ one: ['built', 'b'], two: ['built', 'b'], three: ['built', 'b'] });
    const listed = (await (await fetch(`${server.url}/api/v1/backends`)).json()) as { backends: Array<{ name: string; active: number; healthy: boolean; failures: number }> };
    expect(listed.backends.map((s) => [s.name, s.active, s.healthy, s.failures])).toEqual([['a', 0, true, 0], ['b', 0, true, 0]]);
  }, 180_000);

  it('weld remote submit --backend-selector sends the job\'s selector', async () => {
    // the same keys are cached by now: a new package makes the job build something
    const r = await weld(['remote', 'submit', 'one', '--repo', project.root, '--ref', 'main', '--backend-selector', 'engine=a', '--server', server.url, '--json'], { cwd: project.root, env: { PATH: process.env['PATH'], HOME: dir } });
    expect(r.code, r.stderr).toBe(0);
    const id = (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { id: string }).id;
    const job = await waitForState({ url: server.url, id, states: ['ready', 'done', 'failed'], timeoutMs: 60_000 });
    expect(job['selector']).toEqual({ engine: 'a' });
    const bad = await weld(['remote', 'submit', 'one', '--repo', project.root, '--ref', 'main', '--backend-selector', 'engine', '--server', server.url], { cwd: project.root, env: { PATH: process.env['PATH'], HOME: dir } });
    expect([bad.code, bad.stderr]).toEqual([2, 'weld: error: --backend-selector "engine" is not key=value\nweld: hint: write it as key=value, e.g. --backend-selector size=big\n']);
  }, 120_000);
});
