import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';

// The HTTP client of `weld remote`: JSON calls and Server-Sent Event streams against a
// weld server, with the token from WELD_TOKEN or a credentials file of mode 0600.

/** What the server answered with an error body, or why it could not be reached. */
export class RemoteError extends WeldError {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
    readonly details?: Record<string, unknown>,
    hint?: string,
  ) {
    super(message, hint);
  }
  override toJSON(): Record<string, unknown> {
    return { ...(this.details ?? {}), ...super.toJSON(), ...(this.status !== undefined ? { status: this.status } : {}) };
  }
}

export interface ClientOptions {
  server: string;
  token?: string;
}

/** Where the credentials file is: WELD_CREDENTIALS, else $XDG_CONFIG_HOME/weld/credentials.json, else ~/.config/weld/credentials.json. */
export function credentialsFile(env: NodeJS.ProcessEnv): string {
  return env['WELD_CREDENTIALS'] ?? path.join(env['XDG_CONFIG_HOME'] ?? path.join(os.homedir(), '.config'), 'weld', 'credentials.json');
}

/**
 * The token for `server`: WELD_TOKEN, else the credentials file's entry for it
 * ({"servers": {"<url>": {"token": "…"}}}), refused when others can read the file.
 */
export function tokenFor(o: { server: string; env: NodeJS.ProcessEnv }): Result<string | undefined, RemoteError> {
  const fromEnv = o.env['WELD_TOKEN'];
  if (fromEnv) return ok(fromEnv);
  const file = credentialsFile(o.env);
  let st;
  try {
    st = statSync(file);
  } catch {
    return ok(undefined);
  }
  if ((st.mode & 0o077) !== 0) return err(new RemoteError('E_CREDENTIALS', `${file} can be read by others (mode ${(st.mode & 0o777).toString(8)}); it holds secrets`, undefined, undefined, `chmod 600 ${file}`));
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { servers?: Record<string, { token?: unknown }> };
    const t = doc.servers?.[o.server.replace(/\/+$/, '')]?.token;
    return ok(typeof t === 'string' ? t : undefined);
  } catch (e: unknown) {
    return err(new RemoteError('E_CREDENTIALS', `${file} is not a credentials file: ${(e as Error).message}`, undefined, undefined, 'it holds {"servers": {"<url>": {"token": "weld_…"}}}'));
  }
}

export class WeldClient {
  readonly base: string;
  constructor(private readonly o: ClientOptions) {
    this.base = o.server.replace(/\/+$/, '');
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.o.token ? { authorization: `Bearer ${this.o.token}` } : {}), ...extra };
  }

  async call<T = Record<string, unknown>>(o: { method: 'GET' | 'POST' | 'PATCH'; path: string; body?: unknown }): Promise<Result<T, RemoteError>> {
    let res;
    try {
      res = await request(`${this.base}${o.path}`, {
        method: o.method,
        headers: this.headers(o.body !== undefined ? { 'content-type': 'application/json', accept: 'application/json' } : { accept: 'application/json' }),
        ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
      });
    } catch (e: unknown) {
      return err(new RemoteError('E_REMOTE_UNREACHABLE', `cannot reach the weld server at ${this.base}: ${(e as Error).message}`, undefined, undefined, 'check --server (or WELD_SERVER) and that `weld server` runs there'));
    }
    const text = await res.body.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      return err(new RemoteError('E_REMOTE_PROTOCOL', `${o.method} ${o.path}: the server answered ${res.statusCode} with something that is not JSON`, res.statusCode));
    }
    if (res.statusCode >= 400) {
      const e = (body as { error?: { code?: string; message?: string; hint?: string } }).error ?? {};
      return err(new RemoteError(e.code ?? 'E_REMOTE', e.message ?? `${o.method} ${o.path}: HTTP ${res.statusCode}`, res.statusCode, e as Record<string, unknown>, e.hint));
    }
    return ok(body as T);
  }

  async text(p: string): Promise<Result<string, RemoteError>> {
    try {
      const res = await request(`${this.base}${p}`, { headers: this.headers({ accept: 'text/plain' }) });
      const text = await res.body.text();
      if (res.statusCode >= 400) {
        const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error ?? {};
        return err(new RemoteError(e.code ?? 'E_REMOTE', e.message ?? `HTTP ${res.statusCode}`, res.statusCode));
      }
      return ok(text);
    } catch (e: unknown) {
      return err(new RemoteError('E_REMOTE_UNREACHABLE', `cannot reach the weld server at ${this.base}: ${(e as Error).message}`));
    }
  }

  /** Follows an SSE stream, calling `onEvent` per event, until the server ends it (or `signal` aborts). */
  async stream(o: { path: string; lastEventId?: number; signal?: AbortSignal; onEvent: (e: { id?: string; event: string; data: string }) => void }): Promise<Result<void, RemoteError>> {
    let res;
    try {
      res = await request(`${this.base}${o.path}`, {
        headers: this.headers({ accept: 'text/event-stream', ...(o.lastEventId !== undefined ? { 'last-event-id': String(o.lastEventId) } : {}) }),
        ...(o.signal ? { signal: o.signal } : {}),
        bodyTimeout: 0,
      });
    } catch (e: unknown) {
      return err(new RemoteError('E_REMOTE_UNREACHABLE', `cannot reach the weld server at ${this.base}: ${(e as Error).message}`));
    }
    if (res.statusCode >= 400) {
      const text = await res.body.text();
      let e: { code?: string; message?: string } = {};
      try {
        e = (JSON.parse(text) as { error?: typeof e }).error ?? {};
      } catch {
        /* not JSON: the status says enough */
      }
      return err(new RemoteError(e.code ?? 'E_REMOTE', e.message ?? `HTTP ${res.statusCode}`, res.statusCode));
    }
    let buf = '';
    let cur: { id?: string; event: string; data: string[] } = { event: 'message', data: [] };
    try {
      for await (const chunk of res.body) {
        buf += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, '');
          buf = buf.slice(nl + 1);
          if (line === '') {
            if (cur.data.length) o.onEvent({ ...(cur.id !== undefined ? { id: cur.id } : {}), event: cur.event, data: cur.data.join('\n') });
            cur = { event: 'message', data: [] };
          } else if (line.startsWith(':')) continue;
          else {
            const i = line.indexOf(':');
            const field = i < 0 ? line : line.slice(0, i);
            const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
            if (field === 'data') cur.data.push(value);
            else if (field === 'event') cur.event = value;
            else if (field === 'id') cur.id = value;
          }
        }
      }
    } catch (e: unknown) {
      if (o.signal?.aborted) return ok(undefined);
      return err(new RemoteError('E_REMOTE_STREAM', `the stream from ${this.base} broke: ${(e as Error).message}`));
    }
    return ok(undefined);
  }
}
