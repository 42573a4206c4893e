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
  const text = await r.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiError(r.status, 'E_NOT_JSON', `${path} answered ${r.status} with something that is not JSON`);
  }
  if (!r.ok) {
    const e = (body as { error?: { code?: string; message?: string; hint?: string } } | undefined)?.error;
    throw new ApiError(r.status, e?.code ?? `HTTP_${r.status}`, e?.message ?? `${path} answered ${r.status}`, e?.hint);
  }
  return body as T;
}
