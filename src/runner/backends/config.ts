import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WeldError } from '../../core/errors.js';
import { err, ok, type Result } from '../../core/result.js';
import { LABEL_KEY, LABEL_VALUE } from '../../metadata/names.js';
import { isTable, parseToml, tomlTypeName } from '../../metadata/toml.js';
import { writeFileAtomic } from '../../util/fs.js';

// The backends file: site configuration (which podman engines this site builds on), not
// distro metadata, so it lives in the user's config directory, not in the metadata repo.
//
//   [[backend]]
//   name = "z1"
//   url = "ssh://weld@z1.example.com/run/podman/podman.sock"
//   arch = "s390x"
//   labels = { size = "big", cpu = "native" }
//   max_jobs = 4
//   identity = "/etc/weld/ssh/z1_ed25519"   # ssh only: the private key (podman --identity)
//
// Every value reaches a `podman --url` command line (and, for ssh, podman's ssh
// transport), so each is checked strictly here, once, and nothing else has to.

export interface BackendConfig {
  name: string;
  url: string;
  /** Debian arch name of what it builds (natively or under qemu) */
  arch: string;
  labels: Record<string, string>;
  maxJobs: number;
  /** ssh:// only: the private key podman logs in with (`podman --identity`); absent: $CONTAINER_SSHKEY or ssh-agent */
  identity?: string;
}

export class BackendsFileError extends WeldError {
  readonly code = 'E_BACKENDS_FILE';
}

/** Arches a backend may build for: the ones weld has a name table for (src/podman/arch.ts). */
export const BACKEND_ARCHES = ['s390x', 'amd64', 'arm64', 'ppc64el'] as const;
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/;
const SOCKET_PATH = /^\/[A-Za-z0-9._@+/-]{1,200}$/;
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const IDENTITY_PATH = /^\/[A-Za-z0-9._@+/-]{1,1023}$/;
export const MAX_JOBS_LIMIT = 256;

/** Why a name is not a backend name, or undefined. */
export function nameProblem(name: string): string | undefined {
  return NAME.test(name) ? undefined : `backend name "${clip(name)}" must be 1-63 of a-z, 0-9, ".", "_", "-", starting with a letter or digit`;
}

/**
 * Why a URL is not one weld passes to `podman --url`, or undefined: `unix:///abs/path`,
 * `tcp://host:port`, `ssh://[user@]host[:port]/abs/path`; no query, fragment, password,
 * `..`, or anything that could read as an option.
 */
export function urlProblem(url: string): string | undefined {
  const shown = `"${clip(url)}"`;
  const forms = 'unix:///run/podman/podman.sock, tcp://host:port or ssh://user@host/run/podman/podman.sock';
  const m = /^(unix|tcp|ssh):\/\/(.*)$/s.exec(url);
  if (!m) return `backend url ${shown} must be one of ${forms}`;
  const [, scheme, rest] = m as unknown as [string, string, string];
  if (/[?#\s\\%]/.test(rest)) return `backend url ${shown}: no query, fragment, spaces, backslashes or %-escapes`;
  const pathOk = (p: string) => SOCKET_PATH.test(p) && !p.split('/').some((s) => s === '..' || s === '.');
  if (scheme === 'unix') {
    if (!pathOk(rest)) return `backend url ${shown}: a unix URL is unix:// and an absolute socket path (letters, digits, . _ - @ + /; no ..)`;
    return undefined;
  }
  const slash = rest.indexOf('/');
  const authority = scheme === 'ssh' && slash >= 0 ? rest.slice(0, slash) : rest;
  const sockPath = scheme === 'ssh' && slash >= 0 ? rest.slice(slash) : '';
  let hostPort = authority;
  if (scheme === 'ssh') {
    const at = authority.lastIndexOf('@');
    if (at >= 0) {
      const user = authority.slice(0, at);
      if (user.includes(':')) return `backend url ${shown}: no password in the URL (ssh uses keys; see podman-system-connection)`;
      if (!USER.test(user)) return `backend url ${shown}: user "${clip(user)}" is not a plain login name`;
      hostPort = authority.slice(at + 1);
    }
    if (!sockPath || !pathOk(sockPath)) return `backend url ${shown}: an ssh URL names the socket path on the host: ssh://user@host/run/podman/podman.sock`;
  }
  const hp = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(hostPort);
  const host = hp?.[1] ?? '';
  const port = hp?.[2];
  if (!HOST.test(host)) return `backend url ${shown}: "${clip(host)}" is not a host name or IP address`;
  if (scheme === 'tcp' && port === undefined) return `backend url ${shown}: a tcp URL needs a port: tcp://${host}:8888`;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return `backend url ${shown}: port ${port} is not 1-65535`;
  return undefined;
}

/**
 * Why a value is not an identity weld passes to `podman --identity`, or undefined: an
 * absolute path (letters, digits, . _ - @ + /; no `.` or `..` segments, no `//`), for an
 * ssh:// URL only. Whether the file is a usable key is asked when it is used (and by
 * `weld backends add` and the API when it is set): a key can change after it is configured.
 */
export function identityProblem(identity: unknown, url: unknown): string | undefined {
  if (typeof identity !== 'string') return `identity must be a string (the path of a private key), not ${tomlTypeName(identity)}`;
  const shown = `"${clip(identity)}"`;
  if (identity.length > 1024) return `identity ${shown} is longer than 1024 characters`;
  if (!IDENTITY_PATH.test(identity) || identity.split('/').slice(1).some((s) => s === '' || s === '.' || s === '..')) return `identity ${shown} must be an absolute path of letters, digits, ".", "_", "-", "@", "+" and "/", with no "." or ".." parts`;
  if (typeof url === 'string' && !url.startsWith('ssh://')) return `identity is for ssh:// backends only; ${url.split(':')[0] ?? 'this'} URLs log in with no key`;
  return undefined;
}

/** Checks one backend's fields (from the file, the CLI or the API); every problem, as sentences. */
export function backendProblems(b: { name: unknown; url: unknown; arch: unknown; labels?: unknown; maxJobs?: unknown; identity?: unknown }): string[] {
  const out: string[] = [];
  if (typeof b.name !== 'string') out.push(`name must be a string, not ${tomlTypeName(b.name)}`);
  else {
    const p = nameProblem(b.name);
    if (p) out.push(p);
  }
  if (typeof b.url !== 'string') out.push(`url must be a string, not ${tomlTypeName(b.url)}`);
  else {
    const p = urlProblem(b.url);
    if (p) out.push(p);
  }
  if (typeof b.arch !== 'string' || !(BACKEND_ARCHES as readonly string[]).includes(b.arch)) out.push(`arch must be one of ${BACKEND_ARCHES.join(', ')} (Debian names), not ${typeof b.arch === 'string' ? `"${clip(b.arch)}"` : tomlTypeName(b.arch)}`);
  if (b.labels !== undefined) {
    if (!isTable(b.labels)) out.push(`labels must be a table of key = "value", not ${tomlTypeName(b.labels)}`);
    else out.push(...labelProblems(b.labels));
  }
  if (b.maxJobs !== undefined && (typeof b.maxJobs !== 'number' || !Number.isInteger(b.maxJobs) || b.maxJobs < 1 || b.maxJobs > MAX_JOBS_LIMIT)) out.push(`max_jobs must be a whole number from 1 to ${MAX_JOBS_LIMIT}`);
  if (b.identity !== undefined) {
    const p = identityProblem(b.identity, b.url);
    if (p) out.push(p);
  }
  return out;
}

/** Problems of a set of labels (a backend's, or a selector). */
export function labelProblems(labels: Record<string, unknown>): string[] {
  const out: string[] = [];
  const keys = Object.keys(labels);
  if (keys.length > 32) out.push(`at most 32 labels (got ${keys.length})`);
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY.test(k)) out.push(`label key "${clip(k)}" must be 1-63 of a-z, 0-9, ".", "_", "-", "/", starting and ending with a letter or digit`);
    if (typeof v !== 'string' || !LABEL_VALUE.test(v)) out.push(`label ${clip(k)}'s value must be 1-63 of A-Z, a-z, 0-9, ".", "_", "-", starting and ending with a letter or digit${typeof v === 'string' ? `, not "${clip(v)}"` : ''}`);
  }
  return out;
}

/** `k=v` (from --backend-selector, --label) → a pair, or a problem. */
export function parseLabel(s: string): Result<[string, string], string> {
  const eq = s.indexOf('=');
  if (eq <= 0) return err(`"${clip(s)}" is not key=value`);
  const k = s.slice(0, eq);
  const v = s.slice(eq + 1);
  const problems = labelProblems({ [k]: v });
  return problems.length ? err(problems.join('; ')) : ok([k, v]);
}

/** Where the backends file is: --backends, then $WELD_BACKENDS, then $XDG_CONFIG_HOME/weld/backends.toml (~/.config/…). */
export function backendsFilePath(opts: { flag?: string; env: NodeJS.ProcessEnv; cwd: string }): string {
  if (opts.flag) return path.resolve(opts.cwd, opts.flag);
  const fromEnv = opts.env['WELD_BACKENDS'];
  if (fromEnv) return path.resolve(opts.cwd, fromEnv);
  const xdg = opts.env['XDG_CONFIG_HOME'];
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(opts.env['HOME'] || os.homedir(), '.config');
  return path.join(base, 'weld', 'backends.toml');
}

const KEYS = ['name', 'url', 'arch', 'labels', 'max_jobs', 'identity'];
const MAX_FILE = 1 << 20;

/** Reads the file; a missing file is no backends (builds use this host's podman). */
export function readBackendsFile(file: string): Result<BackendConfig[], BackendsFileError> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return ok([]);
    return err(new BackendsFileError(`cannot read the backends file ${file}: ${(e as Error).message}`));
  }
  return parseBackends({ text, file });
}

export function parseBackends(opts: { text: string; file: string }): Result<BackendConfig[], BackendsFileError> {
  const { file } = opts;
  const hint = 'see README, "Build backends"; `weld backends add` writes a valid entry';
  if (opts.text.length > MAX_FILE) return err(new BackendsFileError(`${file}: larger than 1 MiB; that is not a backends file`, hint));
  const parsed = parseToml(opts.text);
  if (!parsed.ok) return err(new BackendsFileError(`${file}:${parsed.position.line}:${parsed.position.col}: ${parsed.message}`, hint));
  const problems: string[] = [];
  for (const k of Object.keys(parsed.doc)) if (k !== 'backend') problems.push(`unknown key "${clip(k)}" (the file holds [[backend]] tables)`);
  const list = parsed.doc['backend'] ?? [];
  if (!Array.isArray(list)) problems.push(`backend must be an array of tables ([[backend]]), not ${tomlTypeName(list)}`);
  const out: BackendConfig[] = [];
  const seen = new Set<string>();
  (Array.isArray(list) ? list : []).forEach((entry: unknown, i) => {
    const where = `backend[${i}]${isTable(entry) && typeof entry['name'] === 'string' ? ` ("${clip(entry['name'])}")` : ''}`;
    if (!isTable(entry)) {
      problems.push(`${where}: must be a table, not ${tomlTypeName(entry)}`);
      return;
    }
    for (const k of Object.keys(entry)) if (!KEYS.includes(k)) problems.push(`${where}: unknown key "${clip(k)}" (known: ${KEYS.join(', ')})`);
    for (const k of ['name', 'url', 'arch']) if (entry[k] === undefined) problems.push(`${where}: missing ${k}`);
    const fields = { name: entry['name'], url: entry['url'], arch: entry['arch'], labels: entry['labels'], maxJobs: entry['max_jobs'], identity: entry['identity'] };
    const bad = backendProblems(fields).filter((p) => !(fields.name === undefined && p.startsWith('name')) && !(fields.url === undefined && p.startsWith('url')));
    for (const p of bad) problems.push(`${where}: ${p}`);
    if (bad.length || entry['name'] === undefined || entry['url'] === undefined || entry['arch'] === undefined) return;
    const name = entry['name'] as string;
    if (seen.has(name)) problems.push(`${where}: a second backend named "${name}"; names are unique`);
    seen.add(name);
    const identity = entry['identity'] as string | undefined;
    out.push({ name, url: entry['url'] as string, arch: entry['arch'] as string, labels: { ...((entry['labels'] as Record<string, string> | undefined) ?? {}) }, maxJobs: (entry['max_jobs'] as number | undefined) ?? 1, ...(identity !== undefined ? { identity } : {}) });
  });
  if (problems.length) return err(new BackendsFileError(`${file}: ${problems.join('; ')}`, hint));
  return ok(out);
}

/** The file's text for these backends: what `weld backends add|rm` and the API write. */
export function formatBackends(backends: BackendConfig[]): string {
  const lines = ['# weld build backends (written by weld; see `weld backends --help`)'];
  for (const b of backends) {
    const labels = Object.entries(b.labels).sort(([a], [c]) => (a < c ? -1 : 1)).map(([k, v]) => `${JSON.stringify(k)} = ${JSON.stringify(v)}`);
    lines.push('', '[[backend]]', `name = ${JSON.stringify(b.name)}`, `url = ${JSON.stringify(b.url)}`, `arch = ${JSON.stringify(b.arch)}`, `labels = { ${labels.join(', ')} }`.replace('{  }', '{}'), `max_jobs = ${b.maxJobs}`, ...(b.identity !== undefined ? [`identity = ${JSON.stringify(b.identity)}`] : []));
  }
  return lines.join('\n') + '\n';
}

/** Replaces the file (tmp + rename): a reader sees the old list or the new one. */
export function writeBackendsFile(opts: { file: string; backends: BackendConfig[] }): Result<void, BackendsFileError> {
  try {
    writeFileAtomic({ file: opts.file, data: formatBackends(opts.backends) });
    return ok(undefined);
  } catch (e: unknown) {
    return err(new BackendsFileError(`cannot write the backends file ${opts.file}: ${(e as Error).message}`));
  }
}

/** Whether a backend with these labels satisfies every requested label. */
export function labelsMatch(have: Record<string, string>, want: Record<string, string>): boolean {
  return Object.entries(want).every(([k, v]) => have[k] === v);
}

function clip(s: string): string {
  const safe = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return safe.length > 80 ? `${safe.slice(0, 77)}...` : safe;
}
