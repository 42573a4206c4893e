import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summaryData } from '../helpers/event-lines.js';
import { HostNotReadyError } from '../../src/podman/errors.js';
import { checkTestTools, TEST_PYTHON, type TestToolFacts } from '../../src/podman/test-tools.js';
import { which } from '../../src/util/which.js';
import { REPO_ROOT, weld } from '../helpers/project.js';

// `weld doctor --profile test`: what `npm test` runs first (with --fix) on this host.
describe('weld doctor --profile test', () => {
  let empty: string;
  beforeAll(() => (empty = mkdtempSync(path.join(os.tmpdir(), 'weld-doctor-'))));
  afterAll(() => rmSync(empty, { recursive: true, force: true }));

  it('names the Debian package that fixes each missing tool', () => {
    const none: TestToolFacts = { root: true, python: false, elftools: false, pip: false, headers: false };
    const fixes = checkTestTools(none).filter((c) => !c.ok).map((c) => [c.id, c.fix?.map((f) => f.at(-1))]);
    expect(fixes).toEqual([
      ['python3', ['python3']],
      ['pyelftools', ['python3-pyelftools']],
      ['pip', ['python3-pip']],
      ['python3-dev', ['python3-dev']],
      ['patchelf', ['patchelf']],
      ['gcc', ['gcc']],
      ['git', ['git']],
      ['docker-registry', ['docker-registry']],
      ['chromium', ['chromium']],
      ['htpasswd', ['apache2-utils']],
      ['skopeo', ['skopeo']],
      ['sshd', ['openssh-server']],
    ]);
    const all: TestToolFacts = { root: false, python: true, elftools: true, pip: true, headers: true, patchelf: '/usr/bin/patchelf', gcc: '/usr/bin/gcc', git: '/usr/bin/git', 'docker-registry': '/usr/bin/docker-registry', chromium: '/usr/bin/chromium', htpasswd: '/usr/bin/htpasswd', skopeo: '/usr/bin/skopeo', sshd: '/usr/sbin/sshd' };
    expect(checkTestTools(all).filter((c) => !c.ok)).toEqual([]);
  });

  it('reports this host as it is: python modules by asking the tests\' python, tools by PATH', async () => {
    const r = await weld(['doctor', '--profile', 'test', '--json'], { cwd: empty, env: process.env });
    // the one last line: the summary when the host is ready, else the error line with the checks
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { type?: string; error?: { checks: Array<{ id: string; ok: boolean }> } };
    const report = (last.error ? { ok: false, profile: 'test', checks: last.error.checks } : summaryData(r.stdout)) as { ok: boolean; profile: string; checks: Array<{ id: string; ok: boolean }> };
    expect(r.stdout.trim().split('\n').filter((l) => l.includes('"summary"') || l.startsWith('{"error"'))).toHaveLength(1);
    const state = Object.fromEntries(report.checks.map((c) => [c.id, c.ok]));
    const imports = spawnSync(TEST_PYTHON, ['-c', 'import elftools'], { stdio: 'ignore' }).status === 0;
    expect(state).toMatchObject({ pyelftools: imports, patchelf: which({ name: 'patchelf', env: process.env }) !== undefined, gcc: which({ name: 'gcc', env: process.env }) !== undefined });
    expect(report.profile).toBe('test');
    expect(r.code).toBe(report.ok ? 0 : 1);
  });

  it('stops at once when it cannot fix: not root, it installs nothing and prints what to install', () => {
    // a real unprivileged weld, with a PATH where patchelf, gcc and git are not (sshd is
    // looked for in the sbin directories too, so it is missing only where it is not installed)
    const r = spawnSync(which({ name: 'setpriv', env: process.env }) ?? 'setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, path.join(REPO_ROOT, 'bin/weld'), 'doctor', '--profile', 'test', '--fix'], {
      cwd: empty,
      env: { PATH: empty, HOME: empty },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/info  user +not root: --fix cannot install; the fix lines say what to install\n/);
    for (const pkg of ['patchelf', 'gcc', 'git', 'docker-registry', 'chromium', 'apache2-utils', 'skopeo']) expect(r.stdout).toContain(`fix: env DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${pkg}\n`);
    expect(r.stdout).toContain('not root: --fix applied nothing; run it as root (sudo)\n');
    expect(r.stderr).not.toContain('weld doctor: fixing');
    expect(r.stderr).toMatch(/^weld: error: the host is not ready for the tests: (\S+, )*patchelf, gcc, git, docker-registry, chromium, htpasswd, skopeo(, sshd)?\nweld: hint: run the fix commands above as root, or `weld doctor --profile test --fix` as root\n$/);
  });

  it('under --json, a host that is not ready ends in the error line alone, which names every check', async () => {
    const r = await weld(['doctor', '--profile', 'test', '--json'], { cwd: empty, env: { PATH: empty } });
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const e = (JSON.parse(lines[0]!) as { error: { code: string; failing: string[]; checks: Array<{ id: string; ok: boolean }> } }).error;
    expect(e.code).toBe('E_HOST_NOT_READY');
    expect(e.failing).toEqual(expect.arrayContaining(['patchelf', 'gcc', 'git']));
    expect(e.checks.find((c) => c.id === 'patchelf')).toMatchObject({ ok: false });
  });

  it('adds no hint when nothing it knows would fix the host', () => {
    expect(new HostNotReadyError({ failing: ['disk'], fixable: false }).hint).toBeUndefined();
    expect(new HostNotReadyError({ failing: ['podman'], fixable: true }).hint).toBe('run the fix commands above as root, or `weld doctor --fix` as root');
  });
});
