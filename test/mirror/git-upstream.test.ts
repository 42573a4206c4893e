import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mirrorGitUpstream } from '../../src/mirror/git-upstream.js';
import { readRef } from '../../src/mirror/repo.js';
import { discardStage, openStage, publishStage } from '../../src/mirror/stage.js';
import { mirrorPath } from '../../src/mirror/location.js';
import { git } from '../helpers/git.js';
import { deadUrl, gitHttpServer, type TestServer } from '../helpers/servers.js';

// A real upstream repository served by `git http-backend` on loopback, mirrored with
// each git backend.

describe.each(['native', 'isomorphic'] as const)('git upstream over smart HTTP (%s)', (backend) => {
  let tmp: string;
  let work: string;
  let served: string;
  let server: TestServer;
  let v10: string;
  let v09: string;
  const env = { WELD_GIT: backend };
  const commit = (msg: string, file = 'src.txt') => {
    writeFileSync(path.join(work, file), `${msg}\n`);
    git(work, 'add', '-A');
    git(work, 'commit', '-q', '-m', msg);
    return git(work, 'rev-parse', 'HEAD');
  };
  const publish = () => git(work, 'push', '-q', '--force', '--tags', served, 'refs/heads/*:refs/heads/*');

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'weld-git-upstream-'));
    work = path.join(tmp, 'work');
    served = path.join(tmp, 'srv', 'lib.git');
    mkdirSync(work);
    git(work, 'init', '-q', '-b', 'main');
    commit('one');
    v09 = commit('two');
    git(work, 'tag', '-a', 'v0.9', '-m', 'release 0.9');
    git(work, 'branch', 'maint');
    v10 = commit('three');
    git(work, 'tag', 'v1.0');
    git(tmp, 'init', '-q', '--bare', '-b', 'main', served);
    publish();
    server = await gitHttpServer(path.join(tmp, 'srv'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const mirror = async (name: string, pin: { tag?: string; commit?: string; branch?: string }, extra: { url?: string; refresh?: boolean } = {}) => {
    // the upstream step alone, published the way mirrorOne publishes it
    const stage = await openStage({ mirrorsDir: path.join(tmp, 'mirrors'), pkg: name });
    if (!stage.ok) throw stage.error;
    try {
      const r = await mirrorGitUpstream({ repo: stage.value.repo, pkg: name, version: pin.tag?.replace(/^v/, '') ?? '0', url: extra.url ?? `${server.url}/lib.git`, env, ...pin, ...(extra.refresh ? { refresh: true } : {}) });
      if (r.ok) {
        const p = await publishStage({ stage: stage.value, updates: r.value.refs });
        if (!p.ok) throw p.error;
      }
      return { r, repo: { gitdir: mirrorPath(path.join(tmp, 'mirrors'), name), cache: {} } };
    } finally {
      discardStage(stage.value);
    }
  };

  it('mirrors the pinned tag, keeps upstream tags and follows the branch that holds it', async () => {
    const { r, repo } = await mirror(`lib-${backend}`, { tag: 'v1.0' });
    expect(r.ok && r.value).toMatchObject({ commit: v10, branch: 'main', fetched: true });
    expect(await readRef(repo, 'refs/heads/upstream')).toBe(v10);
    expect(await readRef(repo, 'refs/tags/upstream/1.0')).toBe(v10);
    expect(await readRef(repo, 'refs/tags/v0.9')).toBeDefined();
    // an ordinary git repository: fsck is clean
    git(tmp, '--git-dir', repo.gitdir, 'fsck', '--strict', '--no-dangling');
  });

  it('does not touch the network when the pinned commit is already mirrored', async () => {
    const before = server.requests.length;
    const { r } = await mirror(`lib-${backend}`, { tag: 'v1.0' });
    expect(r.ok && r.value.fetched).toBe(false);
    expect(server.requests.length).toBe(before);
  });

  it('fetches what is new for a new pin; a pin on another branch follows that branch', async () => {
    const v11 = commit('four');
    git(work, 'tag', 'v1.1');
    publish();
    const { r, repo } = await mirror(`lib-${backend}`, { tag: 'v1.1' });
    expect(r.ok && r.value).toMatchObject({ commit: v11, branch: 'main', fetched: true });
    expect(await readRef(repo, 'refs/heads/upstream')).toBe(v11);
    const old = await mirror(`lib-${backend}`, { commit: v09, branch: 'maint' });
    expect(old.r.ok && old.r.value).toMatchObject({ commit: v09, branch: 'maint' });
  });

  it('names a missing tag and the nearest one', async () => {
    const { r } = await mirror(`lib-${backend}`, { tag: 'v1.11' }, { refresh: true });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('E_UPSTREAM_REF');
      expect(r.error.message).toBe(`tag v1.11 not found at ${server.url}/lib.git; did you mean "v1.1"?`);
    }
  });

  it('names the URL and the cause when the server is down', async () => {
    const url = `${await deadUrl()}/lib.git`;
    const { r } = await mirror(`down-${backend}`, { tag: 'v1.0' }, { url });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('E_UPSTREAM_UNREACHABLE');
      expect(r.error.message).toMatch(new RegExp(`^cannot fetch ${url}: .*(refused|Failed to connect)`, 'i'));
    }
  });
});

describe('git upstream from a local path', () => {
  it('mirrors with native git', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'weld-git-local-'));
    try {
      const work = path.join(tmp, 'up');
      mkdirSync(work);
      git(work, 'init', '-q', '-b', 'main');
      writeFileSync(path.join(work, 'a'), 'a\n');
      git(work, 'add', '-A');
      git(work, 'commit', '-q', '-m', 'a');
      git(work, 'tag', '2.0');
      const stage = await openStage({ mirrorsDir: path.join(tmp, 'mirrors'), pkg: 'up' });
      if (!stage.ok) throw stage.error;
      const r = await mirrorGitUpstream({ repo: stage.value.repo, pkg: 'up', version: '2.0', url: work, tag: '2.0', env: { WELD_GIT: 'native' } });
      expect(r.ok && r.value.commit).toBe(git(work, 'rev-parse', 'HEAD'));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
