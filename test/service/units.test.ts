import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLoopback, parseListen, readServiceConfig } from '../../src/service/config.js';
import { isJobId, jobIdTime, newJobId } from '../../src/service/ids.js';
import { jobIdentity, transition, type Job } from '../../src/service/job.js';
import { JobStore } from '../../src/service/job-store.js';
import { checkRef, normaliseRepository, repositoryAllowed, SourceCache } from '../../src/service/sources.js';
import { git, initRepo } from '../helpers/git.js';

// The service's small parts, each against the real thing: ids, the state machine, the
// LevelDB job store across a reopen, the config file, and the source checks.

const tmp = mkdtempSync(path.join(os.tmpdir(), 'weld-service-units-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function job(over: Partial<Job> = {}): Job {
  return { id: newJobId(), repository: '/r', ref: 'main', packages: ['a'], all: false, composes: [], jobs: 1, commit: 'c'.repeat(40), submitter: 'ci', submittedAt: Date.now(), state: 'init', transitions: [], packageStates: {}, composed: {}, logLines: 0, ...over };
}

describe('job ids', () => {
  it('sort by time, strictly increasing within one millisecond, and validate strictly', () => {
    const ids = Array.from({ length: 1000 }, () => newJobId(1_700_000_000_000));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(1000);
    expect(ids.every(isJobId)).toBe(true);
    expect(jobIdTime(ids[0]!)).toBe(1_700_000_000_000);
    expect(newJobId(1_800_000_000_000) > ids[999]!).toBe(true);
    for (const bad of ['', 'x', ids[0]!.toLowerCase(), ids[0]! + 'A', ids[0]!.slice(1), ids[0]!.replace(/.$/, 'U'), '8' + ids[0]!.slice(1)]) expect(isJobId(bad), bad).toBe(false);
  });
});

describe('the job state machine', () => {
  it('allows the MBS path and refuses the rest, keeping each transition', () => {
    const j = job();
    for (const s of ['wait', 'build', 'done', 'ready'] as const) expect(transition(j, s, `to ${s}`, 5).ok).toBe(true);
    expect(j.transitions.map((t) => t.state)).toEqual(['wait', 'build', 'done', 'ready']);
    const r = transition(j, 'build', 'again');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toBe(`job ${j.id} is ready; it cannot become build`);
    const k = job({ state: 'wait' });
    expect(transition(k, 'done', 'skip the build').ok).toBe(false);
    expect(transition(k, 'failed', 'canceled').ok).toBe(true);
    expect(transition(k, 'wait', 'back').ok).toBe(false);
  });

  it('calls two jobs identical by commit, packages (in any order), composes and options', () => {
    const a = job({ packages: ['a', 'b'] });
    expect(jobIdentity(a)).toBe(jobIdentity(job({ packages: ['b', 'a'] })));
    expect(jobIdentity(a)).not.toBe(jobIdentity(job({ packages: ['a', 'b'], jobs: 2 })));
    expect(jobIdentity(a)).not.toBe(jobIdentity(job({ packages: ['a', 'b'], commit: 'd'.repeat(40) })));
    expect(jobIdentity(a)).not.toBe(jobIdentity(job({ packages: ['a', 'b'], composes: ['default'] })));
  });
});

describe('the job store', () => {
  it('keeps jobs and log lines across a reopen, newest first, and reads the log from a sequence number', async () => {
    const dir = path.join(tmp, 'store1');
    const s = await JobStore.open({ stateDir: dir });
    if (!s.ok) throw s.error;
    const a = job();
    const b = job();
    s.value.save(a);
    s.value.save(b);
    for (let i = 0; i < 25; i++) s.value.appendLog(a, { text: `line ${i}`, ...(i % 2 ? { pkg: 'p' } : {}) });
    await s.value.flush();
    // LevelDB admits one process: a second server on the same state dir is told why
    const busy = await JobStore.open({ stateDir: dir });
    expect(busy.ok).toBe(false);
    if (!busy.ok) expect(busy.error.hint).toMatch(/another weld server uses this state directory/);
    await s.value.close();
    const r = await JobStore.open({ stateDir: dir });
    if (!r.ok) throw r.error;
    expect(r.value.all().map((j) => j.id)).toEqual([b.id, a.id]);
    expect(r.value.get(a.id)!.logLines).toBe(25);
    const from = await r.value.readLog({ id: a.id, from: 20 });
    expect(from.map((l) => l.seq)).toEqual([20, 21, 22, 23, 24]);
    expect(from.map((l) => l.text)).toEqual(['line 20', 'line 21', 'line 22', 'line 23', 'line 24']);
    const pkg = await r.value.readLog({ id: a.id, pkg: 'p' });
    expect(pkg).toHaveLength(12);
    expect(pkg.every((l) => l.pkg === 'p' && l.seq % 2 === 1)).toBe(true);
    expect(await r.value.readLog({ id: b.id })).toEqual([]);
    await r.value.close();
  });
});

describe('sources', () => {
  it('normalises repositories and refuses what git would run or misread', () => {
    expect(normaliseRepository('https://git.example.com/distro.git/')).toEqual({ ok: true, value: 'https://git.example.com/distro.git' });
    expect(normaliseRepository(`file://${tmp}`)).toEqual({ ok: true, value: tmp });
    for (const bad of ['ext::sh -c x', 'ext::sh', 'fd::3', '-uhelp', 'git@host:x.git', 'ssh://h/x', 'relative', 'https://u:p@h/x', 'https://h/x?y=1', '/a/../b', 'file://evil.example/x', 'a\nb']) {
      expect(normaliseRepository(bad).ok, bad).toBe(false);
    }
  });

  it('matches the allow-list exactly, or under a prefix ending in /', () => {
    const allow = ['https://git.example.com/distros/', '/srv/meta'];
    expect(repositoryAllowed({ repository: 'https://git.example.com/distros/a.git', allow })).toBe(true);
    expect(repositoryAllowed({ repository: 'https://git.example.com/distros-evil/a.git', allow })).toBe(false);
    expect(repositoryAllowed({ repository: '/srv/meta', allow })).toBe(true);
    expect(repositoryAllowed({ repository: '/srv/meta2', allow })).toBe(false);
    expect(repositoryAllowed({ repository: '/srv/meta/sub', allow })).toBe(false);
  });

  it('takes branch, tag and commit names, and nothing git would read as an option or a range', () => {
    for (const ok of ['main', 'respin/2024-1', 'v1.0', 'a'.repeat(40)]) expect(checkRef(ok).ok, ok).toBe(true);
    for (const bad of ['-x', 'a..b', 'a b', 'a~1', 'a^', 'x.lock', '/x', 'x/', '.x', 'a:b', '']) expect(checkRef(bad).ok, bad).toBe(false);
  });
});

describe('the source cache', () => {
  it('resolves many submissions at once through shared fetches, and a later one sees a new commit', async () => {
    const repo = path.join(tmp, 'meta');
    mkdirSync(repo);
    writeFileSync(path.join(repo, 'README'), 'one\n');
    const c1 = initRepo(repo);
    git(repo, 'tag', 'v1');
    const cache = new SourceCache({ stateDir: path.join(tmp, 'state-sources') });
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => cache.resolve({ repository: repo, ref: i % 2 ? 'main' : 'v1' })));
    expect(many.map((r) => r.ok && r.value.commit)).toEqual(Array.from({ length: 20 }, () => c1));
    writeFileSync(path.join(repo, 'README'), 'two\n');
    git(repo, 'commit', '-qam', 'two');
    const c2 = git(repo, 'rev-parse', 'HEAD');
    const later = await cache.resolve({ repository: repo, ref: 'main' });
    expect(later.ok && later.value.commit).toBe(c2);
    expect((await cache.resolve({ repository: repo, ref: c1.slice(0, 10) })).ok).toBe(true);
    const missing = await cache.resolve({ repository: repo, ref: 'nope' });
    expect(!missing.ok && missing.error.code).toBe('E_REF_NOT_FOUND');
    const gone = await cache.resolve({ repository: path.join(tmp, 'no-such-repo'), ref: 'main' });
    expect(!gone.ok && gone.error.code).toBe('E_FETCH_FAILED');
  });
});

describe('the server config', () => {
  it('reads every key, resolves paths against the file, and names what is wrong', () => {
    const file = path.join(tmp, 'server.toml');
    writeFileSync(file, 'listen = "0.0.0.0:9000"\nstate = "state"\nread = "token"\nrepositories = ["https://g/x/"]\nconcurrent_jobs = 2\nbackends = "etc/backends.toml"\n');
    const c = readServiceConfig(file);
    expect(c).toEqual({ ok: true, value: { listen: '0.0.0.0:9000', state: path.join(tmp, 'state'), read: 'token', repositories: ['https://g/x/'], concurrentJobs: 2, backends: path.join(tmp, 'etc/backends.toml') } });
    writeFileSync(file, 'colour = "blue"\nread = "maybe"\nconcurrent_jobs = "2"\ntls_cert = "c.pem"\n');
    const bad = readServiceConfig(file);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toBe(`${file}: unknown key "colour" (known: listen, state, store, mirrors, runner, backends, read, repositories, allow_paths, concurrent_jobs, build_jobs, drain_timeout, max_body, max_log_lines, max_streams, tls_cert, tls_key, store_remote, store_push, trusted_keys, signing_key, tls_verify); concurrent_jobs must be a whole number of at least 1; read must be "open" or "token", not "maybe"; tls_cert and tls_key go together`);
    writeFileSync(file, 'listen = \n');
    const syntax = readServiceConfig(file);
    expect(!syntax.ok && syntax.error.message).toMatch(new RegExp(`^${file}:1:\\d+: `));
  });

  it('parses listen addresses and knows loopback', () => {
    expect(parseListen('127.0.0.1:0')).toEqual({ ok: true, value: { host: '127.0.0.1', port: 0 } });
    expect(parseListen('[::1]:8080')).toEqual({ ok: true, value: { host: '::1', port: 8080 } });
    for (const bad of ['8080', 'host:', 'h:99999', '::1:80']) expect(parseListen(bad).ok, bad).toBe(false);
    expect(isLoopback('127.0.0.1') && isLoopback('::1') && isLoopback('localhost')).toBe(true);
    expect(isLoopback('0.0.0.0') || isLoopback('10.0.0.1')).toBe(false);
  });
});
