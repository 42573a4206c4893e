import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { freePort } from './registry.js';

// A real token server for the distribution spec's Bearer flow (the part of docker_auth or
// a hosted registry's auth service the tests need), on 127.0.0.1. It checks Basic
// credentials against one user, grants the requested scope's actions that user (or an
// anonymous caller) may have, and signs a JWT the Distribution registry verifies:
// ES256 with the signing certificate in the header's `x5c`, which the registry checks
// against its `rootcertbundle` (the self-signed certificate made here with openssl).
// Everything it was asked is kept in `requests`, so tests can count and inspect them.

export interface TokenServerOptions {
  user: string;
  password: string;
  /** the actions `user` may have on any repository (default pull and push) */
  actions?: string[];
  /** actions a caller without credentials gets; without this, such a caller is refused with 401 */
  anonymous?: string[];
  /** `expires_in` of the answer, in seconds (default 300) */
  expiresIn?: number;
  /** seconds the registry takes the JWT for (its `exp`; default: expiresIn) */
  validFor?: number;
  /** which field carries the token: `token`, `access_token` (OAuth 2 style) or both (default) */
  field?: 'token' | 'access_token' | 'both';
}

export interface TokenRequest {
  /** the user of the Basic credentials sent, undefined when there were none */
  user: string | undefined;
  service: string | null;
  /** every scope asked for, one per `scope` parameter as sent */
  scopes: string[];
  status: number;
  /** what was granted: `repository:NAME:ACTIONS`, one per resource */
  granted: string[];
}

/** How the next answers misbehave, for the hostile-input tests. */
export type Misbehaviour = 'not-json' | 'no-token' | 'huge' | 'server-error' | undefined;

export interface TokenServer {
  /** http://127.0.0.1:PORT/token */
  realm: string;
  service: string;
  issuer: string;
  /** the PEM certificate bundle the registry trusts */
  certFile: string;
  requests: TokenRequest[];
  misbehave: Misbehaviour;
  /** bytes of a `huge` answer the server got to send before the client hung up */
  hugeBytesSent: number;
  close(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** An EC P-256 key and a self-signed certificate for it, made by openssl in `dir`. */
function makeSigningKey(dir: string): { key: KeyObject; cert: X509Certificate; certFile: string } {
  const keyFile = path.join(dir, 'token-signing.key');
  const certFile = path.join(dir, 'token-signing.crt');
  execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=weld test token issuer'], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { key: createPrivateKey(readFileSync(keyFile)), cert: new X509Certificate(readFileSync(certFile)), certFile };
}

/** Parses `repository:NAME:ACTIONS` (NAME may hold no colon; ACTIONS comma-separated). */
function parseScope(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',').filter(Boolean) };
}

export async function startTokenServer(dir: string, opts: TokenServerOptions): Promise<TokenServer> {
  const { key, cert, certFile } = makeSigningKey(dir);
  const port = await freePort();
  const service = 'weld-test-registry';
  const issuer = 'weld-test-token-issuer';
  const allowed = opts.actions ?? ['pull', 'push'];
  const requests: TokenRequest[] = [];
  const state: { misbehave: Misbehaviour; hugeBytesSent: number } = { misbehave: undefined, hugeBytesSent: 0 };

  const jwt = (user: string | undefined, access: { type: string; name: string; actions: string[] }[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const validFor = opts.validFor ?? opts.expiresIn ?? 300;
    // The registry allows 60 s of clock skew on exp and nbf; a short validFor is made
    // short for it too by moving the whole window back by that leeway.
    const exp = opts.validFor !== undefined ? now - 60 + validFor : now + validFor;
    const header = { typ: 'JWT', alg: 'ES256', x5c: [cert.raw.toString('base64')] };
    const claims = { iss: issuer, sub: user ?? '', aud: service, exp, nbf: now - 60, iat: now, jti: randomBytes(12).toString('hex'), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64url(signature)}`;
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const scopes = url.searchParams.getAll('scope');
    const entry: TokenRequest = { user: undefined, service: url.searchParams.get('service'), scopes, status: 0, granted: [] };
    requests.push(entry);
    const answer = (status: number, body: unknown) => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...(status === 401 ? { 'www-authenticate': 'Basic realm="weld test token server"' } : {}) });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' || url.pathname !== '/token') return answer(404, { errors: [{ code: 'NOT_FOUND', message: 'only GET /token here' }] });
    const authz = req.headers.authorization;
    let actions: string[];
    if (authz) {
      const m = /^Basic\s+(\S+)$/i.exec(authz);
      const text = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
      const colon = text.indexOf(':');
      entry.user = colon > 0 ? text.slice(0, colon) : text;
      if (colon <= 0 || text.slice(0, colon) !== opts.user || text.slice(colon + 1) !== opts.password) return answer(401, { errors: [{ code: 'UNAUTHORIZED', message: 'wrong user name or password' }] });
      actions = allowed;
    } else if (opts.anonymous) {
      actions = opts.anonymous;
    } else {
      return answer(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
    }
    if (entry.service !== service) return answer(400, { errors: [{ code: 'UNSUPPORTED', message: `unknown service ${JSON.stringify(entry.service)}` }] });
    // Several scopes come as several `scope` parameters; a space-separated list in one is
    // taken too, as docker_auth does.
    const access: { type: string; name: string; actions: string[] }[] = [];
    for (const s of scopes.flatMap((x) => x.split(' ')).filter(Boolean)) {
      const p = parseScope(s);
      if (!p) return answer(400, { errors: [{ code: 'INVALID_SCOPE', message: `scope ${JSON.stringify(s)} is not TYPE:NAME:ACTIONS` }] });
      const granted = p.actions.filter((a) => actions.includes(a));
      const same = access.find((a) => a.type === p.type && a.name === p.name);
      if (same) same.actions = [...new Set([...same.actions, ...granted])];
      else access.push({ type: p.type, name: p.name, actions: granted });
    }
    entry.granted = access.map((a) => `${a.type}:${a.name}:${a.actions.join(',')}`);
    const token = jwt(entry.user, access);
    switch (state.misbehave) {
      case 'not-json':
        entry.status = 200;
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end('<html><body>Welcome to our single sign-on portal</body></html>');
      case 'no-token':
        return answer(200, { expires_in: 300 });
      case 'server-error':
        return answer(500, { errors: [{ code: 'UNKNOWN', message: 'the token database is down' }] });
      case 'huge': {
        entry.status = 200;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(`{"token":"${token}","padding":"`);
        const chunk = Buffer.alloc(1 << 16, 'x');
        const pump = () => {
          while (state.hugeBytesSent < 256 * 2 ** 20) {
            state.hugeBytesSent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end('"}');
        };
        return pump();
      }
    }
    const body: Record<string, unknown> = { expires_in: opts.expiresIn ?? 300, issued_at: new Date().toISOString() };
    const field = opts.field ?? 'both';
    if (field !== 'access_token') body['token'] = token;
    if (field !== 'token') body['access_token'] = token;
    answer(200, body);
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    get misbehave() {
      return state.misbehave;
    },
    set misbehave(m: Misbehaviour) {
      state.misbehave = m;
    },
    get hugeBytesSent() {
      return state.hugeBytesSent;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
