import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { which } from '../../src/util/which.js';
import { freePort } from './registry.js';

// A throwaway OpenSSH server for the ssh:// backend tests, run by the test itself: bound
// to 127.0.0.1 on a free port, with its own config, host key and authorized_keys in a
// temp dir (never /etc/ssh, never /root/.ssh), key login only, stream-local forwarding
// (what podman's ssh transport dials the engine's socket through) and nothing else: the
// client key's line is `restrict,port-forwarding`, so it gets no shell, pty or agent.
// `sshd -D -e` stays in the foreground and logs to stderr; it runs under a shell that
// kills it when this process's end of its stdin closes, so it dies with the test even
// when the test is killed before its afterAll.

export interface Sshd {
  port: number;
  /** the client's private key (ed25519, no passphrase, mode 600): what a backend's identity names */
  identity: string;
  /** the host's public key line (`ssh-ed25519 AAAA…`) */
  hostKey: string;
  /** a HOME whose .ssh/known_hosts has the host's key under `[127.0.0.1]:port` */
  home: string;
  /** `ssh://root@127.0.0.1:port<socket>`: an engine's unix socket on this host, reached through this sshd */
  url(socket: string): string;
  /** a fresh HOME dir: `known_hosts` written as given (a line per entry), or no .ssh at all */
  makeHome(name: string, knownHosts?: string[]): string;
  /** a new key pair in the temp dir (not authorized unless `authorize`), `passphrase` to encrypt it */
  makeKey(name: string, opts?: { passphrase?: string; authorize?: boolean }): string;
  /** what sshd logged */
  log(): string;
  stop(): Promise<void>;
}

const keygen = (file: string, comment: string, passphrase = '') => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', comment, '-f', file], { stdio: 'ignore' });

/** `passwords`: offer password and keyboard-interactive logins too (what a client with a terminal would be asked for; none succeeds) */
export async function startSshd(opts: { dir: string; passwords?: boolean }): Promise<Sshd> {
  const sshd = which({ name: 'sshd', env: process.env });
  if (!sshd) throw new Error('sshd is not installed: run `weld doctor --profile test --fix` (openssh-server)');
  // sshd as root insists on its privilege separation directory (what Debian's unit creates at boot): an empty root-owned dir
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const base = path.join(opts.dir, `sshd-${randomBytes(4).toString('hex')}`);
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const hostKeyFile = path.join(base, 'host_ed25519');
  keygen(hostKeyFile, 'weld-test-host');
  const identity = path.join(base, 'client_ed25519');
  keygen(identity, 'weld-test-client');
  const authorized = path.join(base, 'authorized_keys');
  const authorize = (pub: string) => writeFileSync(authorized, `restrict,port-forwarding ${readFileSync(pub, 'utf8').trim()}\n`, { flag: 'a', mode: 0o600 });
  authorize(`${identity}.pub`);
  const hostKey = readFileSync(`${hostKeyFile}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');

  let child: ChildProcess | undefined;
  let log = '';
  let port = 0;
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePort();
    const config = path.join(base, 'sshd_config');
    writeFileSync(config, [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKeyFile}`,
      `AuthorizedKeysFile ${authorized}`,
      'AuthorizedPrincipalsFile none',
      'PidFile none',
      `AuthenticationMethods ${opts.passwords ? 'any' : 'publickey'}`,
      'PubkeyAuthentication yes',
      `PasswordAuthentication ${opts.passwords ? 'yes' : 'no'}`,
      `KbdInteractiveAuthentication ${opts.passwords ? 'yes' : 'no'}`,
      'PermitEmptyPasswords no',
      'HostbasedAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      'UseDNS no',
      // the temp dir lives under /tmp (mode 1777), which StrictModes' walk up from the key file refuses; the files themselves are 0600/0700
      'StrictModes no',
      // podman's transport is a direct-streamlocal channel; sshd also gates it on AllowTcpForwarding (with "no" it is denied)
      'AllowStreamLocalForwarding local',
      'AllowTcpForwarding local',
      'GatewayPorts no',
      'X11Forwarding no',
      'AllowAgentForwarding no',
      'PermitTunnel no',
      'PermitTTY no',
      'PermitUserEnvironment no',
      'LoginGraceTime 20',
      'LogLevel VERBOSE',
      '',
    ].join('\n'), { mode: 0o600 });
    // the shell waits on sshd and, on the side, on its stdin: EOF there (this process gone, or stop()) kills sshd
    const c = spawn('sh', ['-c', 'exec 3<&0; "$@" </dev/null & pid=$!; { read _ <&3; kill $pid 2>/dev/null; } & wait $pid; s=$?; kill $! 2>/dev/null; exit $s', 'sh', sshd, '-D', '-e', '-f', config], { stdio: ['pipe', 'ignore', 'pipe'] });
    c.stderr!.setEncoding('utf8').on('data', (s: string) => (log += s));
    const up = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      const onData = () => {
        if (log.includes(`Server listening on 127.0.0.1 port ${port}.`)) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      c.stderr!.on('data', onData);
      c.once('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (up) child = c;
    else {
      // a port taken between freePort() and sshd's bind: another one
      c.stdin!.end();
      c.kill('SIGKILL');
    }
  }
  if (!child) throw new Error(`sshd did not start: ${log}`);
  const running = child;

  const makeHome = (name: string, knownHosts?: string[]) => {
    const home = path.join(base, `home-${name}`);
    mkdirSync(home, { recursive: true, mode: 0o700 });
    if (knownHosts) {
      mkdirSync(path.join(home, '.ssh'), { mode: 0o700 });
      writeFileSync(path.join(home, '.ssh/known_hosts'), knownHosts.map((l) => `${l}\n`).join(''), { mode: 0o600 });
    }
    return home;
  };
  return {
    port,
    identity,
    hostKey,
    home: makeHome('trusting', [`[127.0.0.1]:${port} ${hostKey}`]),
    url: (socket) => `ssh://root@127.0.0.1:${port}${socket}`,
    makeHome,
    makeKey(name, o = {}) {
      const file = path.join(base, name);
      keygen(file, `weld-test-${name}`, o.passphrase);
      chmodSync(file, 0o600);
      if (o.authorize) authorize(`${file}.pub`);
      return file;
    },
    log: () => log,
    async stop() {
      if (running.exitCode === null && running.signalCode === null) {
        const gone = new Promise((r) => running.once('exit', r));
        running.stdin!.end();
        await gone;
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}
