import { createHmac } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';

// What podman's own ssh transport (`podman --url ssh://…`, podman 4.3's Go ssh client,
// not the ssh binary) does, measured on podman 4.3.1:
// - identity: `--identity FILE`, else $CONTAINER_SSHKEY, else ssh-agent ($SSH_AUTH_SOCK);
//   never ~/.ssh/id_* and never ~/.ssh/config. An encrypted key is asked for on a
//   terminal stdin, and fails ("empty password") without one.
// - host keys: only $HOME/.ssh/known_hosts. With no such file it takes ANY key (a
//   warning on stderr, nothing else); with the file but no line for the host it takes any
//   key and appends it (trust on first use, prompt or not); `?secure=true` changes
//   neither. Only a host that has a line there is checked, and then strictly ("knownhosts:
//   key mismatch"). So weld connects only to a host known_hosts already has a line for:
//   that is the one case in which podman checks the key it is shown.
// weld gives podman no terminal for remote commands, so it never prompts.

/** A backend over ssh that this host is not set up to reach safely. */
export class SshSetupError extends WeldError {
  readonly code = 'E_SSH_SETUP';
}

export interface SshTarget {
  /** as in the URL, brackets of an IPv6 address taken off */
  host: string;
  port: string;
}

/** Host and port of an ssh:// URL (checked by the backends file already), or undefined for other schemes. */
export function sshTarget(url: string): SshTarget | undefined {
  const m = /^ssh:\/\/(?:[^@/]*@)?(\[[^\]]*\]|[^:/]*)(?::(\d+))?\//.exec(url);
  if (!m) return undefined;
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  return { host, port: m[2] ?? '22' };
}

/** How known_hosts names a host: `host` on port 22, else `[host]:port`. */
export function knownHostsName(t: SshTarget): string {
  return t.port === '22' ? t.host : `[${t.host}]:${t.port}`;
}

/** The known_hosts podman reads: $HOME/.ssh/known_hosts of the environment it runs in (the passwd home without HOME). */
export function knownHostsFile(env: NodeJS.ProcessEnv): string {
  return path.join(env['HOME'] || os.userInfo().homedir, '.ssh', 'known_hosts');
}

function wildcard(pattern: string, s: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's').test(s);
}

/** One known_hosts pattern (`host`, `[host]:port`, with * and ?) as Go's knownhosts package reads it. */
function patternMatches(p: string, t: SshTarget): boolean {
  let host = p;
  let port = '22';
  const bracket = /^\[(.*)\]:(\d+)$/.exec(p);
  if (bracket) [, host, port] = bracket as unknown as [string, string, string];
  else if (p.startsWith('[')) return false;
  else {
    const colon = p.split(':');
    if (colon.length === 2) [host, port] = colon as [string, string];
  }
  return port === t.port && wildcard(host, t.host);
}

/**
 * Whether known_hosts text has a plain line (no @revoked or @cert-authority marker) for
 * the host: hashed (`|1|salt|hmac`) or by patterns, a `!pattern` excluding it, matched
 * as Go's golang.org/x/crypto/ssh/knownhosts (which podman uses) matches: case as written.
 */
export function knownHostsHas(text: string, t: SshTarget): boolean {
  const name = knownHostsName(t);
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('@')) continue;
    const fields = line.split(/\s+/);
    if (fields.length < 3) continue;
    const hosts = fields[0]!;
    if (hosts.startsWith('|1|')) {
      const [, , salt, hash] = hosts.split('|');
      if (salt && hash && createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash) return true;
      continue;
    }
    let match = false;
    let excluded = false;
    for (const p of hosts.split(',')) {
      const negated = p.startsWith('!');
      if (!patternMatches(negated ? p.slice(1) : p, t)) continue;
      if (negated) excluded = true;
      else match = true;
    }
    if (match && !excluded) return true;
  }
  return false;
}

const MAX_KEY_BYTES = 64 * 1024;

/**
 * Why a file is not a private key podman can use without asking anything, or undefined:
 * a regular file of at most 64 KiB, readable by its owner only (as ssh insists), in
 * OpenSSH or PEM form, without a passphrase. Nothing of its content is ever quoted.
 */
export function identityFileProblem(file: string): string | undefined {
  let fd: number;
  try {
    // non-blocking: a FIFO (or a device) named as the key must not hold weld (or the server) waiting for a writer
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e: unknown) {
    const code = (e as NodeJS.ErrnoException).code;
    return `identity ${file} cannot be read (${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code ?? (e as Error).message})`;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return `identity ${file} is not a regular file`;
    if (st.size > MAX_KEY_BYTES) return `identity ${file} is ${st.size} bytes; a private key is a few KiB`;
    if ((st.mode & 0o077) !== 0) return `identity ${file} is open to others than its owner (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); ssh refuses such keys, and so does weld: chmod 600 ${file}`;
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < st.size) {
      const n = readSync(fd, buf, got, st.size - got, got);
      if (n === 0) break;
      got += n;
    }
    return keyTextProblem(file, buf.subarray(0, got).toString('latin1'));
  } finally {
    closeSync(fd);
  }
}

function keyTextProblem(file: string, text: string): string | undefined {
  const encrypted = `identity ${file} is protected by a passphrase, which podman would have to ask for (weld never lets it prompt): give the backend a key without one, readable by its owner only, or leave identity out and hold the key in ssh-agent (SSH_AUTH_SOCK)`;
  const begin = /^-----BEGIN ([A-Z0-9 ]+)-----\r?$/m.exec(text);
  const kind = begin?.[1];
  if (!kind || !kind.endsWith('PRIVATE KEY')) return `identity ${file} is not a private key (no "-----BEGIN … PRIVATE KEY-----" line${/^(ssh-|ecdsa-)/.test(text) ? '; that is a public key: name the file without .pub' : ''})`;
  if (kind === 'ENCRYPTED PRIVATE KEY') return encrypted;
  if (kind === 'OPENSSH PRIVATE KEY') {
    const end = text.indexOf('-----END OPENSSH PRIVATE KEY-----');
    const body = Buffer.from(text.slice(begin!.index + begin![0].length, end < 0 ? undefined : end).replace(/\s+/g, ''), 'base64');
    const magic = 'openssh-key-v1\0';
    if (body.length < magic.length + 4 || body.subarray(0, magic.length).toString('latin1') !== magic) return `identity ${file} is not a readable OpenSSH private key`;
    const len = body.readUInt32BE(magic.length);
    const cipher = body.subarray(magic.length + 4, magic.length + 4 + len).toString('latin1');
    return cipher === 'none' ? undefined : encrypted;
  }
  if (/^Proc-Type:\s*4,ENCRYPTED/m.test(text)) return encrypted;
  return undefined;
}

/**
 * Before podman dials an ssh:// engine: the host has a line in the known_hosts podman
 * reads (else podman would take any key), and the key it will log in with, the identity
 * or else $CONTAINER_SSHKEY, is one it can use without prompting. Not ssh: nothing to check.
 */
export function sshPreflight(o: { url: string; identity?: string; env: NodeJS.ProcessEnv }): Result<void, SshSetupError> {
  const t = sshTarget(o.url);
  if (!t) return ok(undefined);
  const fromEnv = o.env['CONTAINER_SSHKEY'];
  const key = o.identity || fromEnv;
  if (key) {
    const p = identityFileProblem(key);
    if (p) return err(new SshSetupError(o.identity ? p : `$CONTAINER_SSHKEY: ${p}`));
  }
  const file = knownHostsFile(o.env);
  let text: string | undefined;
  try {
    text = readFileSync(file, 'latin1');
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return err(new SshSetupError(`cannot read ${file}: ${(e as Error).message}`));
  }
  if (text === undefined || !knownHostsHas(text, t)) {
    const name = knownHostsName(t);
    const scan = `ssh-keyscan${t.port === '22' ? '' : ` -p ${t.port}`} ${t.host}`;
    return err(new SshSetupError(
      `the host key of ${name} is not in ${file}${text === undefined ? ' (there is no such file)' : ''}: podman would take any key the host shows, so weld does not connect`,
      `add the host's key after checking its fingerprint against the host's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub there), e.g. \`${scan} >> ${file}\``,
    ));
  }
  return ok(undefined);
}

/** podman's ssh failures, said in words a site admin can act on; undefined when it is not one of them. */
export function explainSshFailure(o: { url: string; identity?: string; env: NodeJS.ProcessEnv; output: string }): string | undefined {
  const t = sshTarget(o.url);
  if (!t) return undefined;
  const name = knownHostsName(t);
  if (/knownhosts: key mismatch/.test(o.output)) return `the host key ${name} showed is not the one ${knownHostsFile(o.env)} has for it (the host was reinstalled, or something is in between): check the host's key and correct that line`;
  if (/unable to authenticate/.test(o.output)) return `${name} refused the login ${o.identity ? `with key ${o.identity}` : 'with the keys podman had (no identity set: $CONTAINER_SSHKEY or ssh-agent)'}: is its public key in the user's authorized_keys on the host?`;
  // podman, given no key the host takes, falls back to a password it reads from stdin (weld's: empty) and the login ends
  if (/handshake failed: EOF/.test(o.output)) return `${name} ended the ssh login before it succeeded: no key podman had was taken (${o.identity ? `identity ${o.identity}` : 'no identity set: $CONTAINER_SSHKEY or ssh-agent'}), and weld gives no passwords; or what answers on that port is not sshd`;
  if (/rejected: (?:connect failed|administratively prohibited)/.test(o.output)) return `${name} let weld log in but would not connect it to the engine's socket: is podman's socket there, and does the host's sshd allow stream-local forwarding (AllowStreamLocalForwarding, AllowTcpForwarding not "no")?`;
  return undefined;
}
