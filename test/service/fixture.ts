import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { selectRunner } from '../../src/runner/select.js';
import { startService, type RunningService } from '../../src/service/server.js';
import type { ServiceConfig } from '../../src/service/config.js';
import type { BackendsApi } from '../../src/service/api-backends.js';
import { buildProject, type BuildProject } from '../helpers/build-project.js';
import { git } from '../helpers/git.js';
import { makeWheel } from '../helpers/wheels.js';

// A metadata repository for service tests: real packages (release tarballs on disk,
// mirrored by the real `weld mirror`), committed to a real git repository, with recipes
// that run on the host (the local runner) in well under a second, one that fails and one
// that writes numbered lines slowly (for live logs, cancel and kill -9).

export const COPY_WHEEL = '#!/bin/sh\nset -e\necho "copying the wheel"\nmkdir -p "$WELD_OUT/wheels"\ncp "$WELD_SRC"/*.whl "$WELD_OUT/wheels/"\n';
export const FAIL = '#!/bin/sh\necho "about to fail"\nexit 3\n';
/** `LINES` numbered lines, `PAUSE` seconds apart (from the package's build vars). */
export const SLOW = '#!/bin/sh\nset -e\ni=1\nwhile [ "$i" -le "${LINES:-20}" ]; do echo "line $i"; i=$((i+1)); sleep "${PAUSE:-0.1}"; done\nmkdir -p "$WELD_OUT/prefix"\necho done > "$WELD_OUT/prefix/slow.txt"\n';

export interface ServiceFixture {
  project: BuildProject;
  /** the metadata repository (the project root, committed) */
  repo: string;
  commit: string;
  tmp: string;
  /** where local upstream tarballs live (the server's WELD_ALLOW_PATHS) */
  releases: string;
  start(o?: { config?: ServiceConfig; stateDir?: string; storePath?: string; backends?: BackendsApi }): Promise<RunningService>;
  cleanup(): Promise<void>;
}

function wheelDir(tmp: string, dist: string): { dir: string } {
  const w = makeWheel({ dist, version: '1.0', files: { [`${dist}.py`]: `# ${dist}\n` } });
  const dir = mkdtempSync(path.join(tmp, 'wheel-'));
  writeFileSync(path.join(dir, w.file), w.bytes);
  return { dir };
}

export async function serviceFixture(o: { slowLines?: number; slowPause?: number } = {}): Promise<ServiceFixture> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'weld-service-'));
  const project = await buildProject({
    recipes: { 'copy-wheel': COPY_WHEEL, fail: FAIL, slow: SLOW },
    packages: [
      { name: 'alpha', recipe: 'copy-wheel', files: wheelDir(tmp, 'alpha') },
      { name: 'beta', recipe: 'copy-wheel', requires: ['alpha'], files: wheelDir(tmp, 'beta') },
      { name: 'broken', recipe: 'fail', files: { 'README': 'fails\n' } },
      { name: 'after-broken', recipe: 'copy-wheel', requires: ['broken'], files: wheelDir(tmp, 'after_broken') },
      { name: 'slow', kind: 'pack', recipe: 'slow', vars: { LINES: String(o.slowLines ?? 20), PAUSE: String(o.slowPause ?? 0.1) }, files: { 'README': 'slow\n' } },
    ],
  });
  const repo = project.root;
  mkdirSync(path.join(repo, 'metadata/composes'), { recursive: true });
  writeFileSync(path.join(repo, 'metadata/composes/good.toml'), '[compose]\nkind = "wheelhouse"\npackages = ["alpha", "beta"]\n');
  writeFileSync(path.join(repo, '.gitignore'), 'store/\nmirrors/\n.weld/\nout/\n');
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'metadata');
  const commit = git(repo, 'rev-parse', 'HEAD');
  const releases = path.join(path.dirname(repo), 'releases');
  const servers: RunningService[] = [];
  return {
    project,
    repo,
    commit,
    tmp,
    releases,
    start: async (s = {}) => {
      const r = await startService({
        stateDir: s.stateDir ?? path.join(tmp, 'state'),
        storePath: s.storePath ?? path.join(tmp, 'store'),
        mirrorsDir: path.join(tmp, 'mirrors'),
        runnerName: 'local',
        makeRunner: ({ metadata, store, env }) => selectRunner({ name: 'local', context: { metadata, store, env } }),
        host: '127.0.0.1',
        port: 0,
        cwd: repo,
        env: { ...process.env, WELD_ALLOW_PATHS: releases },
        config: s.config ?? {},
        weldVersion: 'test',
        log: () => {},
        ...(s.backends ? { backends: s.backends } : {}),
      });
      if (!r.ok) throw r.error;
      servers.push(r.value);
      return r.value;
    },
    cleanup: async () => {
      await Promise.all(servers.map((x) => x.close()));
      project.cleanup();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Polls GET /jobs/{id} until the job is in one of `states` (or the time is up). */
export async function waitForState(o: { url: string; id: string; states: string[]; timeoutMs?: number; token?: string }): Promise<Record<string, unknown>> {
  const until = Date.now() + (o.timeoutMs ?? 60_000);
  for (;;) {
    const r = await fetch(`${o.url}/api/v1/jobs/${o.id}`, o.token ? { headers: { authorization: `Bearer ${o.token}` } } : {});
    const job = (await r.json()) as Record<string, unknown>;
    if (o.states.includes(job['state'] as string)) return job;
    if (Date.now() > until) throw new Error(`job ${o.id} is ${String(job['state'])}, not ${o.states.join('|')}, after ${o.timeoutMs ?? 60_000} ms: ${JSON.stringify(job['transitions'])}`);
    await new Promise((r2) => setTimeout(r2, 50));
  }
}

export async function submit(o: { url: string; body: unknown; token?: string }): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const r = await fetch(`${o.url}/api/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) }, body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown>, headers: r.headers };
}
