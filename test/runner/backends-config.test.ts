import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendsFilePath, parseBackends, readBackendsFile, urlProblem, writeBackendsFile, type BackendConfig } from '../../src/runner/backends/config.js';
import { BackendPool } from '../../src/runner/backends/pool.js';
import { tempDir } from '../helpers/store-temp.js';

describe('backend URLs', () => {
  it('takes the URLs of podman --url', () => {
    for (const u of ['unix:///run/podman/podman.sock', 'unix:///tmp/weld-x/a.sock', 'tcp://127.0.0.1:8888', 'tcp://build-1.example.com:8080', 'tcp://[::1]:8888', 'ssh://weld@z1.example.com/run/podman/podman.sock', 'ssh://z1:2222/run/user/1000/podman/podman.sock']) {
      expect(urlProblem(u), u).toBeUndefined();
    }
  });

  it('refuses what is not one, or could smuggle an option or a path', () => {
    const cases: Record<string, string> = {
      'http://host:80': 'must be one of unix:///run/podman/podman.sock, tcp://host:port or ssh://user@host/run/podman/podman.sock',
      'unix://relative.sock': 'a unix URL is unix:// and an absolute socket path',
      'unix:///run/../etc/shadow': 'no ..',
      'tcp://host': 'a tcp URL needs a port: tcp://host:8888',
      'tcp://host:99999': 'port 99999 is not 1-65535',
      'tcp://-oProxyCommand=x:22': 'is not a host name or IP address',
      'ssh://-oProxyCommand=touch@host/x': 'is not a plain login name',
      'ssh://weld:secret@host/run/podman/podman.sock': 'no password in the URL',
      'ssh://host': 'an ssh URL names the socket path on the host',
      'tcp://host:80?x=1': 'no query, fragment, spaces',
      'unix:///a b.sock': 'no query, fragment, spaces',
      'tcp://ho%73t:80': 'no query, fragment, spaces, backslashes or %-escapes',
    };
    for (const [u, why] of Object.entries(cases)) expect(urlProblem(u), u).toContain(why);
  });
});

describe('the backends file', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir('weld-backends-file-')));
  afterAll(() => cleanup());

  const sample: BackendConfig[] = [
    { name: 'z1', url: 'ssh://weld@z1.example.com/run/podman/podman.sock', arch: 's390x', labels: { size: 'big', cpu: 'native' }, maxJobs: 4 },
    { name: 'x86-qemu', url: 'tcp://10.0.0.5:8888', arch: 's390x', labels: {}, maxJobs: 2 },
  ];

  it('round-trips what weld writes, atomically, leaving no tmp file', () => {
    const file = path.join(dir, 'conf/weld/backends.toml');
    expect(writeBackendsFile({ file, backends: sample }).ok).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(
      '# weld build backends (written by weld; see `weld backends --help`)\n\n[[backend]]\nname = "z1"\nurl = "ssh://weld@z1.example.com/run/podman/podman.sock"\narch = "s390x"\nlabels = { "cpu" = "native", "size" = "big" }\nmax_jobs = 4\n\n' +
        '[[backend]]\nname = "x86-qemu"\nurl = "tcp://10.0.0.5:8888"\narch = "s390x"\nlabels = {}\nmax_jobs = 2\n',
    );
    const back = readBackendsFile(file);
    expect(back.ok && back.value).toEqual(sample);
    expect(readdirSync(path.dirname(file))).toEqual(['backends.toml']);
  });

  it('is no backends when missing; says every problem of a bad one, with where', () => {
    expect(readBackendsFile(path.join(dir, 'none.toml'))).toEqual({ ok: true, value: [] });
    const text = '[[backend]]\nname = "a"\nurl = "tcp://h"\narch = "x86"\nmax_jobs = 0\ncolour = "red"\n\n[[backend]]\nname = "a"\nurl = "unix:///a.sock"\narch = "amd64"\n\n[[backend]]\nname = "a"\nurl = "unix:///b.sock"\narch = "amd64"\n\n[extra]\n';
    const r = parseBackends({ text, file: 'b.toml' });
    expect(!r.ok && r.error.message).toBe(
      'b.toml: unknown key "extra" (the file holds [[backend]] tables); backend[0] ("a"): unknown key "colour" (known: name, url, arch, labels, max_jobs, identity); ' +
        'backend[0] ("a"): backend url "tcp://h": a tcp URL needs a port: tcp://h:8888; backend[0] ("a"): arch must be one of s390x, amd64, arm64, ppc64el (Debian names), not "x86"; ' +
        'backend[0] ("a"): max_jobs must be a whole number from 1 to 256; backend[2] ("a"): a second backend named "a"; names are unique',
    );
    const syntax = parseBackends({ text: '[[backend]\n', file: 'c.toml' });
    expect(!syntax.ok && syntax.error.message).toMatch(/^c\.toml:1:\d+: /);
  });

  it('keeps an ssh backend\'s identity (an absolute key path), and refuses one that is not a plain path or not for ssh', () => {
    const file = path.join(dir, 'identity.toml');
    const withKey: BackendConfig[] = [{ name: 'z1', url: 'ssh://weld@z1.example.com:2222/run/podman/podman.sock', arch: 's390x', labels: {}, maxJobs: 1, identity: '/etc/weld/ssh/z1_ed25519' }, sample[1]!];
    expect(writeBackendsFile({ file, backends: withKey }).ok).toBe(true);
    expect(readFileSync(file, 'utf8')).toContain('max_jobs = 1\nidentity = "/etc/weld/ssh/z1_ed25519"\n\n[[backend]]\nname = "x86-qemu"');
    expect(readBackendsFile(file)).toEqual({ ok: true, value: withKey });
    const entry = (url: string, identity: string) => `[[backend]]\nname = "z"\nurl = "${url}"\narch = "s390x"\nidentity = ${identity}\n`;
    const ssh = 'ssh://weld@z1/run/podman/podman.sock';
    const cases: Array<[string, string]> = [
      [entry(ssh, '"keys/z1"'), 'identity "keys/z1" must be an absolute path of letters, digits, ".", "_", "-", "@", "+" and "/", with no "." or ".." parts'],
      [entry(ssh, '"/etc/weld/../shadow"'), 'identity "/etc/weld/../shadow" must be an absolute path'],
      [entry(ssh, '"/etc//weld/key"'), 'identity "/etc//weld/key" must be an absolute path'],
      [entry(ssh, '"/keys/-oProxyCommand=x y"'), 'identity "/keys/-oProxyCommand=x y" must be an absolute path'],
      [entry(ssh, '"/keys/z1\\n--url=tcp://x:1"'), 'identity "/keys/z1?--url=tcp://x:1" must be an absolute path'],
      [entry(ssh, '"/"'), 'identity "/" must be an absolute path'],
      [entry(ssh, '42'), 'identity must be a string (the path of a private key), not an integer'],
      [entry('tcp://10.0.0.5:8888', '"/etc/weld/key"'), 'identity is for ssh:// backends only; tcp URLs log in with no key'],
      [entry(ssh, `"/${'k'.repeat(1100)}"`), `identity "/${'k'.repeat(76)}..." is longer than 1024 characters`],
    ];
    for (const [text, why] of cases) {
      const r = parseBackends({ text, file: 'i.toml' });
      expect(!r.ok && r.error.message, text).toContain(`i.toml: backend[0] ("z"): ${why}`);
    }
  });

  it('is found through --backends, then WELD_BACKENDS, then XDG_CONFIG_HOME, then ~/.config', () => {
    expect(backendsFilePath({ flag: 'b.toml', env: { WELD_BACKENDS: '/x' }, cwd: '/w' })).toBe('/w/b.toml');
    expect(backendsFilePath({ env: { WELD_BACKENDS: '/x/b.toml', XDG_CONFIG_HOME: '/c' }, cwd: '/w' })).toBe('/x/b.toml');
    expect(backendsFilePath({ env: { XDG_CONFIG_HOME: '/c', HOME: '/h' }, cwd: '/w' })).toBe('/c/weld/backends.toml');
    expect(backendsFilePath({ env: { HOME: '/h' }, cwd: '/w' })).toBe('/h/.config/weld/backends.toml');
  });
});

describe('backend selection', () => {
  const b = (name: string, extra: Partial<BackendConfig> = {}): BackendConfig => ({ name, url: `unix:///tmp/${name}.sock`, arch: 's390x', labels: {}, maxJobs: 2, ...extra });

  it('takes the least loaded by active/max_jobs among those of the arch with every label', async () => {
    const pool = new BackendPool({ backends: [b('small', { maxJobs: 1, labels: { size: 'small' } }), b('big', { maxJobs: 4, labels: { size: 'big', cpu: 'native' } }), b('arm', { arch: 'arm64' })] });
    const take = async (labels: Record<string, string> = {}) => {
      const l = await pool.acquire({ arch: 's390x', labels });
      if (!l.ok) throw new Error(String(l.error));
      return l.value;
    };
    const picks = [];
    for (let i = 0; i < 5; i++) picks.push(await take());
    expect(picks.map((l) => l.backend.name)).toEqual(['big', 'small', 'big', 'big', 'big']);
    expect(pool.list().map((s) => [s.name, s.active])).toEqual([['small', 1], ['big', 4], ['arm', 0]]);
    // both are full: the next waits for a release
    const waiting = take({ cpu: 'native' });
    let got: string | undefined;
    void waiting.then((l) => (got = l.backend.name));
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toBeUndefined();
    picks[1]!.release(true); // small frees up, but it has no cpu=native
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toBeUndefined();
    picks[0]!.release(true);
    expect((await waiting).backend.name).toBe('big');
    const none = await pool.acquire({ arch: 'ppc64el', labels: {} });
    expect(!none.ok && none.error !== 'aborted' && none.error.message).toBe('no backend builds ppc64el; the backends are: small (s390x, size=small); big (s390x, size=big, cpu=native); arm (arm64)');
  });

  it('skips a backend for the skip time after 3 failures in a row; one success clears them', async () => {
    let now = 1_000_000;
    const pool = new BackendPool({ backends: [b('a'), b('b')], now: () => now });
    const fail = async (name: string) => {
      const l = await pool.acquire({ arch: 's390x', labels: {}, exclude: name === 'a' ? ['b'] : ['a'] });
      if (!l.ok || l.value.backend.name !== name) throw new Error('picked the wrong one');
      l.value.release(false);
    };
    await fail('a');
    await fail('a');
    expect(pool.list()[0]).toMatchObject({ failures: 2, healthy: true, skippedUntil: null });
    await fail('a');
    expect(pool.list()[0]).toMatchObject({ failures: 3, healthy: false, skippedUntil: new Date(now + 30_000).toISOString() });
    // skipped even when asked to avoid b
    const l = await pool.acquire({ arch: 's390x', labels: {}, exclude: ['b'] });
    expect(l.ok && l.value.backend.name).toBe('b');
    if (l.ok) l.value.release(true);
    now += 30_000;
    expect(pool.list()[0]).toMatchObject({ healthy: true, failures: 3 });
    const again = await pool.acquire({ arch: 's390x', labels: {} });
    expect(again.ok && again.value.backend.name).toBe('a');
    if (again.ok) again.value.release(true);
    expect(pool.list()[0]).toMatchObject({ healthy: true, failures: 0 });
  });

  it('gives up waiting when the build is cancelled', async () => {
    const pool = new BackendPool({ backends: [b('a', { maxJobs: 1 })] });
    const first = await pool.acquire({ arch: 's390x', labels: {} });
    const abort = new AbortController();
    const second = pool.acquire({ arch: 's390x', labels: {}, signal: abort.signal });
    abort.abort();
    expect(await second).toEqual({ ok: false, error: 'aborted' });
    if (first.ok) first.value.release(true);
  });
});

// keep the fixture writer honest: a file written by hand in the documented format reads
it('reads the format the README documents', async () => {
  const { dir, cleanup } = await tempDir('weld-backends-readme-');
  const file = path.join(dir, 'b.toml');
  writeFileSync(file, '[[backend]]\nname = "z1"\nurl = "ssh://weld@z1.example.com/run/podman/podman.sock"\narch = "s390x"\nlabels = { size = "big" }\nmax_jobs = 4\n');
  expect(readBackendsFile(file)).toEqual({ ok: true, value: [{ name: 'z1', url: 'ssh://weld@z1.example.com/run/podman/podman.sock', arch: 's390x', labels: { size: 'big' }, maxJobs: 4 }] });
  await cleanup();
});
