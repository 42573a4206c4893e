// The dashboard's calls to the public API: JSON with the signed-in token, errors as the
// API's {"error": {code, message, hint}} turned into one readable ApiError.

const TOKEN_KEY = 'weld.token';

export function storedToken(): string | undefined {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function storeToken(token: string | undefined): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage refused (private mode): the token lives as long as the page
  }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export function authHeaders(token = storedToken()): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

export async function api<T>(path: string, o: { method?: string; body?: unknown; token?: string; signal?: AbortSignal } = {}): Promise<T> {
  let r: Response;
  try {
    r = await fetch(path, {
      method: o.method ?? 'GET',
      headers: { accept: 'application/json', ...authHeaders(o.token ?? storedToken()), ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } catch (e: unknown) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'E_NETWORK', `the server did not answer ${path}`, 'check that weld server is running');
  }
  return parse<T>(path, r.status, r.ok, await r.text());
}

function parse<T>(path: string, status: number, ok: boolean, text: string): T {
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiError(status, 'E_NOT_JSON', `${path} answered ${status} with something that is not JSON`);
  }
  if (!ok) {
    const e = (body as { error?: { code?: string; message?: string; hint?: string } } | undefined)?.error;
    throw new ApiError(status, e?.code ?? `HTTP_${status}`, e?.message ?? `${path} answered ${status}`, e?.hint);
  }
  return body as T;
}

/** What /prefetch.js (loaded by index.html before the app) started: a job page's JSON, read while the bundle loads. */
interface Prefetch {
  path: string;
  token: string | null;
  response: Promise<{ status: number; ok: boolean; text: string }>;
  /** the answer, once it is in */
  settled?: { status: number; ok: boolean; text: string };
  /** its JSON, parsed once (by /prefetch.js when the answer is a 2xx) */
  value?: unknown;
}

declare global {
  interface Window {
    __weldPrefetch?: Prefetch;
  }
}

/**
 * The prefetched answer for `path` if it is already in and is not an error, so a page can
 * draw it in its first render; it stays there for apiPrefetched (which the page still calls).
 */
export function prefetchedNow<T>(path: string): T | undefined {
  const p = window.__weldPrefetch;
  if (!p || p.path !== path || p.token !== (storedToken() ?? null) || !p.settled?.ok) return undefined;
  try {
    p.value ??= parse<T>(path, p.settled.status, p.settled.ok, p.settled.text);
  } catch {
    return undefined;
  }
  return p.value as T;
}

/**
 * GET `path`, taking the answer /prefetch.js already asked for when it is for this path
 * and the same token (once: a later call reads afresh). Without one, or when that request
 * did not reach the server, an ordinary call.
 */
export async function apiPrefetched<T>(path: string): Promise<T> {
  const p = window.__weldPrefetch;
  window.__weldPrefetch = undefined;
  if (!p || p.path !== path || p.token !== (storedToken() ?? null)) return api<T>(path);
  let r: { status: number; ok: boolean; text: string };
  try {
    r = await p.response;
  } catch {
    return api<T>(path);
  }
  return (p.value as T | undefined) ?? parse<T>(path, r.status, r.ok, r.text);
}
