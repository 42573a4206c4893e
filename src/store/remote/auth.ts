import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

// Credentials come from the files podman, skopeo and docker read, in their order:
// $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json.
// Entries are keyed by host[:port] (docker writes https://host/v1/ too) and, in
// containers-auth.json, by host/namespace for a part of a registry: the longest match wins.

export interface Credentials {
  username: string;
  password: string;
  /** the file they came from, for messages */
  file: string;
}

export function authFiles(env: NodeJS.ProcessEnv): string[] {
  const files: string[] = [];
  if (env['REGISTRY_AUTH_FILE']) files.push(env['REGISTRY_AUTH_FILE']);
  if (env['XDG_RUNTIME_DIR']) files.push(path.join(env['XDG_RUNTIME_DIR'], 'containers', 'auth.json'));
  else files.push(path.join('/run/user', String(process.getuid?.() ?? 0), 'containers', 'auth.json'));
  files.push(path.join(env['HOME'] || os.homedir(), '.docker', 'config.json'));
  return files;
}

function normalise(key: string): string {
  return key.replace(/^https?:\/\//, '').replace(/\/v[12]\/?$/, '').replace(/\/+$/, '');
}

/** The credentials for registry/repository from the first auth file that has an entry for it. */
export async function findCredentials(opts: { registry: string; repository: string; env: NodeJS.ProcessEnv }): Promise<Credentials | undefined> {
  const wanted = [`${opts.registry}/${opts.repository}`];
  const parts = opts.repository.split('/');
  for (let i = parts.length - 1; i > 0; i--) wanted.push(`${opts.registry}/${parts.slice(0, i).join('/')}`);
  wanted.push(opts.registry);
  for (const file of authFiles(opts.env)) {
    let doc: unknown;
    try {
      doc = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      continue; // missing or unreadable: podman skips it too
    }
    const auths = (doc as { auths?: Record<string, { auth?: unknown; username?: unknown; password?: unknown }> } | null)?.auths;
    if (typeof auths !== 'object' || auths === null) continue;
    const byKey = new Map(Object.entries(auths).map(([k, v]) => [normalise(k), v]));
    for (const key of wanted) {
      const entry = byKey.get(key);
      if (!entry) continue;
      if (typeof entry.auth === 'string' && entry.auth !== '') {
        const text = Buffer.from(entry.auth, 'base64').toString('utf8');
        const colon = text.indexOf(':');
        if (colon > 0) return { username: text.slice(0, colon), password: text.slice(colon + 1), file };
      }
      if (typeof entry.username === 'string' && typeof entry.password === 'string') return { username: entry.username, password: entry.password, file };
    }
  }
  return undefined;
}

export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(Basic|Bearer)\b\s*(.*)$/i.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let p = re.exec(m[2]!); p; p = re.exec(m[2]!)) params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  return { scheme: m[1]!.toLowerCase() as 'basic' | 'bearer', params };
}

export function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
