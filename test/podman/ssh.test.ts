import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityFileProblem, knownHostsHas, sshPreflight, sshTarget } from '../../src/podman/ssh.js';
import { tempDir } from '../helpers/store-temp.js';

// The checks weld makes before podman dials an ssh:// engine, on real keys and known_hosts
// lines from OpenSSH's own tools (ssh-keygen writes them; -H hashes them as ssh does).

let dir: string;
let cleanup: () => Promise<void>;
const keygen = (name: string, args: string[] = []) => {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-N', '', '-C', name, '-f', file, ...args], { stdio: 'ignore' });
  return file;
};
let hostKey: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('weld-ssh-'));
  hostKey = readFileSync(`${keygen('host', ['-t', 'ed25519'])}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
});
afterAll(() => cleanup());

describe('known_hosts, read as podman (Go\'s knownhosts) reads it', () => {
  const t = { host: '10.1.2.3', port: '2222' };
  const t22 = { host: 'z1.example.com', port: '22' };

  it('takes the host and port out of an ssh URL, port 22 when none', () => {
    expect(sshTarget('ssh://weld@z1.example.com/run/podman/podman.sock')).toEqual(t22);
    expect(sshTarget('ssh://10.1.2.3:2222/run/podman/podman.sock')).toEqual(t);
    expect(sshTarget('ssh://root@[fd00::1]:2200/run/p.sock')).toEqual({ host: 'fd00::1', port: '2200' });
    expect(sshTarget('unix:///run/podman/podman.sock')).toBeUndefined();
  });

  it('finds plain, bracketed, listed, wildcard and hashed lines; not another port, not a negated or marked one', () => {
    expect(knownHostsHas(`[10.1.2.3]:2222 ${hostKey}\n`, t)).toBe(true);
    expect(knownHostsHas(`10.1.2.3 ${hostKey}\n`, t)).toBe(false);
    expect(knownHostsHas(`[10.1.2.3]:22 ${hostKey}\n`, t)).toBe(false);
    expect(knownHostsHas(`z1.example.com ${hostKey}\n`, t22)).toBe(true);
    expect(knownHostsHas(`[z1.example.com]:22 ${hostKey}\n`, t22)).toBe(true);
    expect(knownHostsHas(`# z1.example.com ${hostKey}\n\nother,z1.example.com ${hostKey}\n`, t22)).toBe(true);
    expect(knownHostsHas(`*.example.com ${hostKey}\n`, t22)).toBe(true);
    expect(knownHostsHas(`z?.example.com ${hostKey}\n`, t22)).toBe(true);
    expect(knownHostsHas(`*.example.com,!z1.example.com ${hostKey}\n`, t22)).toBe(false);
    expect(knownHostsHas(`z1.example.co ${hostKey}\n`, t22)).toBe(false);
    expect(knownHostsHas(`z1.example.com.evil ${hostKey}\n`, t22)).toBe(false);
    expect(knownHostsHas(`@revoked z1.example.com ${hostKey}\n`, t22)).toBe(false);
    expect(knownHostsHas(`@cert-authority *.example.com ${hostKey}\n`, t22)).toBe(false);
    expect(knownHostsHas('z1.example.com\n', t22)).toBe(false);
    // hashed by ssh-keygen -H, as `HashKnownHosts yes` writes them
    const file = path.join(dir, 'hashed_known_hosts');
    writeFileSync(file, `[10.1.2.3]:2222 ${hostKey}\nz1.example.com ${hostKey}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const hashed = readFileSync(file, 'utf8');
    expect(hashed).toMatch(/^\|1\|/);
    expect(hashed).not.toContain('10.1.2.3');
    expect(knownHostsHas(hashed, t)).toBe(true);
    expect(knownHostsHas(hashed, t22)).toBe(true);
    expect(knownHostsHas(hashed, { host: '10.1.2.3', port: '22' })).toBe(false);
  });
});

describe('an identity file', () => {
  it('is a private key podman can use without asking: OpenSSH or PEM, no passphrase, mode 600', () => {
    expect(identityFileProblem(keygen('ed', ['-t', 'ed25519']))).toBeUndefined();
    expect(identityFileProblem(keygen('rsa-pem', ['-t', 'rsa', '-b', '2048', '-m', 'PEM']))).toBeUndefined();
    expect(identityFileProblem(keygen('ec-pkcs8', ['-t', 'ecdsa', '-m', 'PKCS8']))).toBeUndefined();
  });

  it('is refused, saying why, when it would prompt, is open to others, is not a key, or is not a file; nothing of it is quoted', () => {
    const enc = path.join(dir, 'enc');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', enc], { stdio: 'ignore' });
    const passphrase = 'is protected by a passphrase, which podman would have to ask for (weld never lets it prompt): give the backend a key without one, readable by its owner only, or leave identity out and hold the key in ssh-agent (SSH_AUTH_SOCK)';
    expect(identityFileProblem(enc)).toBe(`identity ${enc} ${passphrase}`);
    const encPem = path.join(dir, 'enc-pem');
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-m', 'PEM', '-N', 'secret', '-f', encPem], { stdio: 'ignore' });
    expect(identityFileProblem(encPem)).toBe(`identity ${encPem} ${passphrase}`);
    const open = keygen('open', ['-t', 'ed25519']);
    chmodSync(open, 0o644);
    expect(identityFileProblem(open)).toBe(`identity ${open} is open to others than its owner (mode 0644); ssh refuses such keys, and so does weld: chmod 600 ${open}`);
    const pub = `${keygen('pubonly', ['-t', 'ed25519'])}.pub`;
    chmodSync(pub, 0o600);
    expect(identityFileProblem(pub)).toBe(`identity ${pub} is not a private key (no "-----BEGIN … PRIVATE KEY-----" line; that is a public key: name the file without .pub)`);
    const secret = path.join(dir, 'shadow-like');
    writeFileSync(secret, 'root:$6$secret-hash:19000:0:99999:7:::\n', { mode: 0o600 });
    expect(identityFileProblem(secret)).toBe(`identity ${secret} is not a private key (no "-----BEGIN … PRIVATE KEY-----" line)`);
    const garbled = path.join(dir, 'garbled');
    writeFileSync(garbled, '-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n', { mode: 0o600 });
    expect(identityFileProblem(garbled)).toBe(`identity ${garbled} is not a readable OpenSSH private key`);
    const big = path.join(dir, 'big');
    writeFileSync(big, Buffer.alloc(100_000), { mode: 0o600 });
    expect(identityFileProblem(big)).toBe(`identity ${big} is 100000 bytes; a private key is a few KiB`);
    expect(identityFileProblem(path.join(dir, 'none'))).toBe(`identity ${path.join(dir, 'none')} cannot be read (no such file)`);
    expect(identityFileProblem(dir)).toBe(`identity ${dir} is not a regular file`);
    // a FIFO must not hold the caller waiting for a writer
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    const t0 = performance.now();
    expect(identityFileProblem(fifo)).toBe(`identity ${fifo} is not a regular file`);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('the check before podman dials', () => {
  it('refuses a host known_hosts has no line for (podman would take any key), and passes one it has', () => {
    const url = 'ssh://root@127.0.0.1:2222/run/podman/podman.sock';
    const home = path.join(dir, 'home');
    mkdirSync(home);
    const none = sshPreflight({ url, env: { HOME: home } });
    expect(!none.ok && [none.error.code, none.error.message, none.error.hint]).toEqual([
      'E_SSH_SETUP',
      `the host key of [127.0.0.1]:2222 is not in ${home}/.ssh/known_hosts (there is no such file): podman would take any key the host shows, so weld does not connect`,
      `add the host's key after checking its fingerprint against the host's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub there), e.g. \`ssh-keyscan -p 2222 127.0.0.1 >> ${home}/.ssh/known_hosts\``,
    ]);
    mkdirSync(path.join(home, '.ssh'));
    writeFileSync(path.join(home, '.ssh/known_hosts'), `127.0.0.1 ${hostKey}\n`);
    const other = sshPreflight({ url, env: { HOME: home } });
    expect(!other.ok && other.error.message).toBe(`the host key of [127.0.0.1]:2222 is not in ${home}/.ssh/known_hosts: podman would take any key the host shows, so weld does not connect`);
    writeFileSync(path.join(home, '.ssh/known_hosts'), `[127.0.0.1]:2222 ${hostKey}\n`);
    expect(sshPreflight({ url, env: { HOME: home } }).ok).toBe(true);
    const key = keygen('pre', ['-t', 'ed25519']);
    expect(sshPreflight({ url, identity: key, env: { HOME: home } }).ok).toBe(true);
    const bad = sshPreflight({ url, identity: `${key}.pub`, env: { HOME: home } });
    expect(!bad.ok && bad.error.message).toMatch(/is open to others than its owner|is not a private key/);
    // no identity: the key podman falls back to, $CONTAINER_SSHKEY, is held to the same rules
    const viaEnv = sshPreflight({ url, env: { HOME: home, CONTAINER_SSHKEY: `${key}.pub` } });
    expect(!viaEnv.ok && viaEnv.error.message).toMatch(/^\$CONTAINER_SSHKEY: identity .*\.pub is open to others than its owner/);
    expect(sshPreflight({ url, env: { HOME: home, CONTAINER_SSHKEY: key } }).ok).toBe(true);
    // not ssh: nothing to check
    expect(sshPreflight({ url: 'tcp://127.0.0.1:8888', env: { HOME: path.join(dir, 'nowhere') } }).ok).toBe(true);
  });
});
