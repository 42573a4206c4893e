import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostArch } from '../../src/podman/arch.js';
import { buildProject, type BuildProject } from '../helpers/build-project.js';
import { eventStream, type EventStream } from '../helpers/event-lines.js';
import { hostContainersConf, installTinyEnv, podmanService, type PodmanService } from '../helpers/podman-services.js';
import { REPO_ROOT, weld } from '../helpers/project.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { requireCompiled, tempDir } from '../helpers/store-temp.js';

// `weld backends` and `weld build` on two real podman engines (podman system service on
// two sockets), with a real project whose packages build in a tiny host-arch env.

const arch = hostArch();
const of = (s: EventStream, type: string) => s.events.filter((e) => e.type === type);
const SLEEPY = 'echo "building $WELD_PACKAGE"\nsleep 1\nmkdir -p "$WELD_OUT/wheels"\necho "$WELD_PACKAGE" > "$WELD_OUT/wheels/$WELD_PACKAGE-1.0-py3-none-any.whl"\n';

let dir: string;
let cleanup: () => Promise<void>;
let project: BuildProject;
let podmanEnv: NodeJS.ProcessEnv;
let a: PodmanService;
let b: PodmanService;
let file: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('weld-cli-backends-'));
  project = await buildProject({ packages: ['p1', 'p2', 'p3', 'p4'].map((name) => ({ name, recipe: 'sleepy', files: { 'README': `${name}\n` } })), recipes: { sleepy: SLEEPY } });
  await installTinyEnv({ root: project.root, dir, distro: '\n[sources]\nallow_paths = ["../releases"]\n' });
  podmanEnv = hostContainersConf(project.root);
  [a, b] = await Promise.all([podmanService({ dir, name: 'a', env: podmanEnv }), podmanService({ dir, name: 'b', env: podmanEnv })]);
  file = path.join(dir, 'config/weld/backends.toml');
  env = { PATH: process.env['PATH'], XDG_CONFIG_HOME: path.join(dir, 'config'), WELD_STORE: path.join(project.root, 'store'), HOME: dir };
}, 180_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  project?.cleanup();
  await cleanup();
}, 120_000);

describe('weld backends', () => {
  it('adds, lists, checks and removes backends in the file under XDG_CONFIG_HOME', async () => {
    const cwd = project.root;
    expect((await weld(['backends', 'ls'], { cwd, env })).stdout).toBe(`no backends in ${file}: builds run on this host's podman\n`);
    const addA = await weld(['backends', 'add', 'a', '--url', a.url, '--arch', arch, '--label', 'size=small', '--max-jobs', '2'], { cwd, env });
    expect([addA.code, addA.stdout]).toEqual([0, `added backend a (${a.url}, ${arch}, max 2 at once) in ${file}\n`]);
    expect((await weld(['backends', 'add', 'b', '--url', b.url, '--arch', arch, '--label', 'size=big', '--max-jobs', '2'], { cwd, env })).code).toBe(0);
    const again = await weld(['backends', 'add', 'a', '--url', a.url, '--arch', arch], { cwd, env });
    expect([again.code, again.stderr]).toEqual([2, `weld: error: weld backends add: ${file} already has a backend "a"\nweld: hint: pass --replace to replace it, or pick another name\n`]);
    const bad = await weld(['backends', 'add', 'c', '--url', 'tcp://-oProxyCommand=x:1', '--arch', 'x86', '--max-jobs', 'lots'], { cwd, env });
    expect([bad.code, bad.stderr]).toEqual([2, 'weld: error: weld backends add: backend url "tcp://-oProxyCommand=x:1": "-oProxyCommand=x" is not a host name or IP address; arch must be one of s390x, amd64, arm64, ppc64el (Debian names), not "x86"; max_jobs must be a whole number from 1 to 256\n']);
    const ls = await weld(['backends', 'ls'], { cwd, env });
    expect(ls.stdout).toBe(`NAME  URL${' '.repeat(a.url.length - 3)}  ARCH${' '.repeat(Math.max(0, arch.length - 4))}  MAX_JOBS  LABELS\na     ${a.url}  ${arch.padEnd(4)}  2         size=small\nb     ${b.url}  ${arch.padEnd(4)}  2         size=big\n`);
    const check = await weld(['backends', 'check', '--json'], { cwd, env });
    expect(check.code).toBe(0);
    const rows = (JSON.parse(check.stdout) as { backends: Array<{ name: string; ok: boolean; mode: string; engineArch: string; version: string }> }).backends;
    expect(rows.map((r) => [r.name, r.ok, r.mode, r.engineArch])).toEqual([['a', true, 'native', arch], ['b', true, 'native', arch]]);
    expect(rows[0]!.version).toMatch(/^\d+\.\d+/);
    // one that does not answer: said, and the exit status says so
    expect((await weld(['backends', 'add', 'gone', '--url', `unix://${dir}/nothing.sock`, '--arch', arch], { cwd, env })).code).toBe(0);
    const down = await weld(['backends', 'check', 'gone'], { cwd, env });
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/^NAME +STATE +PODMAN +ENGINE +BUILDS +MS\ngone +down: .*nothing\.sock/);
    expect(down.stderr).toContain('weld: error: backend gone did not answer');
    const rm = await weld(['backends', 'rm', 'gone'], { cwd, env });
    expect([rm.code, rm.stdout]).toEqual([0, `removed backend gone from ${file}\n`]);
    expect((await weld(['backends', 'rm', 'gone'], { cwd, env })).code).toBe(2);
    expect(readFileSync(file, 'utf8')).not.toContain('gone');
  }, 60_000);

  it('weld build spreads builds over the backends, honours --backend-selector and [build] labels, and says where each went', async () => {
    const cwd = project.root;
    const built = await weld(['build', '--all', '--json', '--jobs', '4'], { cwd, env });
    expect(built.code, built.stdout + built.stderr).toBe(0);
    const events = eventStream(built.stdout);
    const placed = of(events, 'placed').map((e) => [e.subject!.name, (e.data as { backend: string }).backend]);
    expect(placed.map(([, where]) => where).sort()).toEqual(['a', 'a', 'b', 'b']);
    expect(of(events, 'done')).toHaveLength(4);

    const pkg = path.join(project.root, 'metadata/packages/p1.toml');
    writeFileSync(pkg, readFileSync(pkg, 'utf8').replace('[build]\n', '[build]\nlabels = { size = "small" }\n'));
    const rebuilt = await weld(['build', '--all', '--check', '--json', '--jobs', '4', '--backend-selector', 'size=big'], { cwd, env });
    // p1 wants size=small and the selector size=big: p1 cannot be placed; the others all go to b and match their records
    const ev = eventStream(rebuilt.stdout);
    expect(of(ev, 'placed').map((e) => (e.data as { backend: string }).backend)).toEqual(['b', 'b', 'b']);
    const failed = of(ev, 'failed');
    expect(failed.map((e) => [e.subject!.name, (e.data as { error: { message: string } }).error.message])).toEqual([['p1', "the backend selector asks for size=big, but the package's [build] labels say size=small; no backend can be both"]]);
    expect(of(ev, 'done').every((e) => (e.data as { check?: { match: boolean } }).check?.match === true)).toBe(true);

    const small = await weld(['build', 'p1', '--check', '--json'], { cwd, env });
    expect(of(eventStream(small.stdout), 'placed').map((e) => (e.data as { backend: string }).backend)).toEqual(['a']);
    const plain = await weld(['build', 'p2', '--check'], { cwd, env });
    expect(plain.stdout).toMatch(/^p2: build on backend [ab]$/m);
  }, 240_000);

  it('refuses a selector when no backends are configured', async () => {
    const r = await weld(['build', 'p1', '--backend-selector', 'size=big'], { cwd: project.root, env: { ...env, XDG_CONFIG_HOME: path.join(dir, 'empty') } });
    expect([r.code, r.stderr]).toEqual([2, `weld: error: --backend-selector picks among build backends, and ${path.join(dir, 'empty/weld/backends.toml')} configures none\nweld: hint: add backends with \`weld backends add\`, or drop --backend-selector to build on this host\n`]);
  });
});

describe('weld backends over ssh://, through a real sshd', () => {
  let sshd: Sshd;
  beforeAll(async () => {
    sshd = await startSshd({ dir });
  }, 60_000);
  afterAll(async () => {
    await sshd?.stop();
  }, 60_000);

  it('adds one with --identity (made absolute, checked now), and refuses an identity that is not for ssh or not a usable key', async () => {
    const cwd = path.dirname(sshd.identity);
    const bfile = path.join(dir, 'ssh-add.toml');
    const url = sshd.url(a.url.replace('unix://', ''));
    const added = await weld(['backends', 'add', 'z', '--url', url, '--arch', arch, '--identity', path.basename(sshd.identity), '--backends', bfile], { cwd, env });
    expect([added.code, added.stderr]).toEqual([0, '']);
    expect(readFileSync(bfile, 'utf8')).toContain(`identity = "${sshd.identity}"\n`);
    const ls = await weld(['backends', 'ls', '--backends', bfile], { cwd, env });
    expect(ls.stdout).toBe(`NAME  URL${' '.repeat(url.length - 3)}  ARCH${' '.repeat(Math.max(0, arch.length - 4))}  MAX_JOBS  LABELS  IDENTITY\nz     ${url}  ${arch.padEnd(4)}  1         -       ${sshd.identity}\n`);
    const tcp = await weld(['backends', 'add', 't', '--url', 'tcp://127.0.0.1:1', '--arch', arch, '--identity', sshd.identity, '--backends', bfile], { cwd, env });
    expect([tcp.code, tcp.stderr]).toEqual([2, 'weld: error: weld backends add: identity is for ssh:// backends only; tcp URLs log in with no key\n']);
    const pub = await weld(['backends', 'add', 'p', '--url', url, '--arch', arch, '--identity', `${sshd.identity}.pub`, '--backends', bfile], { cwd, env });
    expect([pub.code, pub.stderr]).toEqual([2, `weld: error: weld backends add: identity ${sshd.identity}.pub is open to others than its owner (mode 0644); ssh refuses such keys, and so does weld: chmod 600 ${sshd.identity}.pub\n`]);
    const missing = await weld(['backends', 'add', 'm', '--url', url, '--arch', arch, '--identity', '/nonexistent/key', '--backends', bfile], { cwd, env });
    expect([missing.code, missing.stderr]).toEqual([2, 'weld: error: weld backends add: identity /nonexistent/key cannot be read (no such file)\n']);
    // a path is resolved as typed, then checked: what it names must be a key, and nothing of what it holds is said
    const sneaky = await weld(['backends', 'add', 's', '--url', url, '--arch', arch, '--identity', '/etc/../etc/passwd', '--backends', bfile], { cwd, env });
    expect(sneaky.stderr).toBe('weld: error: weld backends add: identity /etc/passwd is open to others than its owner (mode 0644); ssh refuses such keys, and so does weld: chmod 600 /etc/passwd\n');
    const spaced = await weld(['backends', 'add', 's', '--url', url, '--arch', arch, '--identity', '/keys/a key', '--backends', bfile], { cwd, env });
    expect(spaced.stderr).toBe('weld: error: weld backends add: identity "/keys/a key" must be an absolute path of letters, digits, ".", "_", "-", "@", "+" and "/", with no "." or ".." parts\n');
    expect((await weld(['backends', 'ls', '--json', '--backends', bfile], { cwd, env })).stdout).not.toMatch(/"(t|p|m|s)"/);
  });

  it('check says ok for a known host and a good key; an unknown host, a wrong host key, a refused key: down, said, quickly, no prompt', async () => {
    const bfile = path.join(dir, 'ssh-check.toml');
    const url = sshd.url(a.url.replace('unix://', ''));
    const stranger = sshd.makeKey('stranger');
    const locked = sshd.makeKey('locked', { passphrase: 'secret', authorize: true });
    const entry = (name: string, identity: string) => `[[backend]]\nname = "${name}"\nurl = "${url}"\narch = "${arch}"\nidentity = "${identity}"\n`;
    writeFileSync(bfile, entry('good', sshd.identity) + entry('stranger', stranger) + entry('locked', locked));
    const check = (home: string, names: string[]) => weld(['backends', 'check', '--json', '--backends', bfile, ...names], { cwd: dir, env: { ...env, HOME: home } });
    type Row = { name: string; ok: boolean; mode?: string; engineArch?: string; problem?: string; ms: number };
    // --json: the rows, then (when one is down) the error line
    const rows = (r: { stdout: string }) => (JSON.parse(r.stdout.split('\n{"error"')[0]!) as { backends: Row[] }).backends;

    const ok = await check(sshd.home, ['good']);
    expect([ok.code, rows(ok).map((r) => [r.name, r.ok, r.mode, r.engineArch])]).toEqual([0, [['good', true, 'native', arch]]]);

    const t0 = performance.now();
    const r = await check(sshd.home, ['stranger', 'locked']);
    expect(r.code).toBe(1);
    const [s, l] = rows(r);
    expect(s!.problem).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} refused the login with key ${stranger}: is its public key in the user's authorized_keys on the host\\? \\(podman: .*unable to authenticate`));
    expect(l!.problem).toBe(`identity ${locked} is protected by a passphrase, which podman would have to ask for (weld never lets it prompt): give the backend a key without one, readable by its owner only, or leave identity out and hold the key in ssh-agent (SSH_AUTH_SOCK)`);

    // no known_hosts at all, and one without the host: weld does not let podman connect (it would take any key and write it down)
    const noFile = sshd.makeHome('nofile');
    const empty = sshd.makeHome('nohost', [`[127.0.0.1]:1 ${sshd.hostKey}`]);
    for (const home of [noFile, empty]) {
      const u = await check(home, ['good']);
      expect(u.code).toBe(1);
      expect(rows(u)[0]!.problem).toBe(`the host key of [127.0.0.1]:${sshd.port} is not in ${home}/.ssh/known_hosts${home === noFile ? ' (there is no such file)' : ''}: podman would take any key the host shows, so weld does not connect; add the host's key after checking its fingerprint against the host's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub there), e.g. \`ssh-keyscan -p ${sshd.port} 127.0.0.1 >> ${home}/.ssh/known_hosts\``);
    }
    expect(existsSync(path.join(noFile, '.ssh'))).toBe(false);
    expect(readFileSync(path.join(empty, '.ssh/known_hosts'), 'utf8')).toBe(`[127.0.0.1]:1 ${sshd.hostKey}\n`);

    // a line for the host with another key: podman checks it, and refuses
    const impostor = readFileSync(`${sshd.makeKey('impostor')}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const wrong = sshd.makeHome('wrong', [`[127.0.0.1]:${sshd.port} ${impostor}`]);
    const m = await check(wrong, ['good']);
    expect(m.code).toBe(1);
    expect(rows(m)[0]!.problem).toMatch(new RegExp(`^the host key \\[127\\.0\\.0\\.1\\]:${sshd.port} showed is not the one ${wrong}/\\.ssh/known_hosts has for it \\(the host was reinstalled, or something is in between\\): check the host's key and correct that line \\(podman: .*key mismatch`));
    // the plain text names it too, and says what the exit status says
    const plain = await weld(['backends', 'check', '--backends', bfile, 'good'], { cwd: dir, env: { ...env, HOME: wrong } });
    expect(plain.stdout).toMatch(/^NAME +STATE +PODMAN +ENGINE +BUILDS +MS\ngood +down: the host key \[127\.0\.0\.1\]:\d+ showed is not the one/);
    expect(plain.stderr).toContain('weld: error: backend good did not answer');
    // every one of these is podman failing at once (or weld refusing first), far inside the 20 s check timeout
    expect(performance.now() - t0).toBeLessThan(20_000);
  }, 60_000);

  it('never lets podman prompt, even with a terminal on weld\'s stdin: a host that offers password logins, and no key to give it', async () => {
    requireCompiled();
    // podman asks for a password (or a passphrase, or whether to trust a host key) when its stdin is a terminal; weld's never is
    const pw = await startSshd({ dir, passwords: true });
    try {
      const bfile = path.join(dir, 'ssh-tty.toml');
      writeFileSync(bfile, `[[backend]]\nname = "nokey"\nurl = "${pw.url(a.url.replace('unix://', ''))}"\narch = "${arch}"\n`);
      const cmd = [process.execPath, path.join(REPO_ROOT, 'bin/weld'), 'backends', 'check', '--backends', bfile].join(' ');
      const t0 = performance.now();
      // script(1) runs weld on a pseudo-terminal: stdin, stdout and stderr are all a tty
      const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { env: { ...env, HOME: pw.home }, encoding: 'utf8', input: '', timeout: 40_000 });
      const ms = performance.now() - t0;
      expect(r.signal, 'weld was killed: it hung').toBeNull();
      expect(r.status, r.stdout).toBe(1);
      // podman's own prompts: "root's login password:", "Key Passphrase:", and the host-key question
      expect(r.stdout).not.toMatch(/login password:|Key Passphrase:|continue connecting/i);
      expect(r.stdout).toMatch(new RegExp(`nokey +down: \\[127\\.0\\.0\\.1\\]:${pw.port} ended the ssh login before it succeeded: no key podman had was taken \\(no identity set: \\$CONTAINER_SSHKEY or ssh-agent\\), and weld gives no passwords`));
      expect(r.stdout).toContain('weld: error: backend nokey did not answer');
      expect(ms).toBeLessThan(25_000);
      // the server offered passwords, and nothing ever answered one
      expect(pw.log()).not.toMatch(/Accepted (password|keyboard-interactive)/);
    } finally {
      await pw.stop();
    }
  }, 60_000);
});
