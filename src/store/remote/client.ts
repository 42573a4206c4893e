import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { err, ok, type Result } from '../../core/result.js';
import { describe } from '../errors.js';
import { authFiles, basicHeader, findCredentials, parseChallenge, type Challenge, type Credentials } from './auth.js';
import { RemoteAuthError, RemoteProtocolError, RemoteUnavailableError } from './errors.js';
import { header, type Reply } from './reply.js';
import { mergeScopes, readTokenAnswer, type Token } from './token.js';
import type { RemoteUrl } from './url.js';

// A client of the OCI distribution spec (v1.1), the part a content store needs: manifests
// by tag, blobs by digest (HEAD, GET, monolithic upload, cross-repository mount) and the
// tag list. Auth is the spec's: a 401 names Basic or a Bearer token realm; tokens are
// fetched with the auth file's credentials and kept per scope.

export type RemoteError = RemoteUnavailableError | RemoteAuthError | RemoteProtocolError;

export interface ClientOptions {
  remote: RemoteUrl;
  /** false: a registry without valid TLS is used over unverified HTTPS or plain HTTP, as podman's --tls-verify=false */
  tlsVerify: boolean;
  env: NodeJS.ProcessEnv;
  /** connect and response-headers timeout (default 10 s): a registry this slow is treated as down */
  timeoutMs?: number;
  /** connections at once (default 8) */
  connections?: number;
}

export interface ManifestReply {
  digest: string | undefined;
  mediaType: string;
  body: Buffer;
}

const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'].join(', ');
const MAX_MANIFEST = 4 * 2 ** 20;


export class RegistryClient {
  /** Basic credentials, once the registry asked for them */
  private basic: string | undefined;
  /** the registry's Bearer challenge (realm, service), once it named one */
  private bearer: Challenge | undefined;
  /** tokens by the scope a request needs (`repository:R:pull,push`, …) */
  private readonly tokens = new Map<string, Token>();
  /** token requests under way, so that requests at once that need one share it */
  private readonly fetching = new Map<string, Promise<Result<Token, RemoteError>>>();
  /** what the registry asked for beyond a request's own scope, by that scope */
  private readonly wanted = new Map<string, string[]>();
  private credentials: Credentials | undefined | null = null;

  private constructor(
    readonly o: ClientOptions,
    /** http(s)://host:port, as found to answer */
    readonly base: string,
    private readonly agent: Agent,
  ) {}

  /** Checks /v2/ answers (and what auth it wants) before anything else goes out. */
  static async connect(o: ClientOptions): Promise<Result<RegistryClient, RemoteError>> {
    const timeout = o.timeoutMs ?? 10_000;
    const agent = new Agent({ connect: { timeout, rejectUnauthorized: o.tlsVerify }, headersTimeout: timeout, bodyTimeout: Math.max(timeout, 60_000), connections: o.connections ?? 8, keepAliveTimeout: 10_000 });
    const schemes = o.tlsVerify ? ['https'] : ['https', 'http'];
    let last = '';
    for (const scheme of schemes) {
      const c = new RegistryClient(o, `${scheme}://${o.remote.registry}`, agent);
      const pinged = await c.ping();
      if (pinged.ok) return ok(c);
      if (!(pinged.error instanceof RemoteUnavailableError) || pinged.error.tokenService) {
        await agent.close().catch(() => undefined);
        return pinged;
      }
      last = pinged.error.message;
    }
    await agent.close().catch(() => undefined);
    return err(new RemoteUnavailableError(o.remote.text, last.replace(`store remote ${o.remote.text}: `, '')));
  }

  get remote(): string {
    return this.o.remote.text;
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
  }

  private repoPath(rest: string): string {
    return `${this.base}/v2/${this.o.remote.repository}/${rest}`;
  }

  /** The scope of everything weld does in its repository. */
  private get baseScope(): string {
    return `repository:${this.o.remote.repository}:pull,push`;
  }

  private async ping(): Promise<Result<void, RemoteError>> {
    const r = await this.raw({ method: 'GET', url: `${this.base}/v2/` });
    if (!r.ok) return r;
    await r.value.body.dump().catch(() => undefined);
    if (r.value.status === 200) return ok(undefined);
    if (r.value.status !== 401) return err(new RemoteUnavailableError(this.remote, `GET /v2/ answered ${r.value.status}: not an OCI distribution registry?`));
    const answered = await this.answerChallenge(header(r.value.headers, 'www-authenticate'), this.baseScope, undefined);
    if (!answered.ok) return answered;
    // Asked again with what we answered, so wrong credentials are found now, not mid-push.
    const authorization = await this.authorizationFor(this.baseScope);
    if (!authorization.ok) return authorization;
    const again = await this.raw({ method: 'GET', url: `${this.base}/v2/`, headers: authorization.value ? { authorization: authorization.value } : {} });
    if (!again.ok) return again;
    await again.value.body.dump().catch(() => undefined);
    if (again.value.status === 200) return ok(undefined);
    const creds = await this.creds();
    if (this.bearer) return err(new RemoteAuthError(this.remote, `the registry refused the token ${this.tokenService()} issued${creds ? ` for ${creds.username} (credentials from ${creds.file})` : ''} (GET /v2/ answered ${again.value.status}): the token service and the registry do not trust each other`));
    if (again.value.status === 401 && creds) return err(new RemoteAuthError(this.remote, `the registry refused the credentials of ${creds.username} from ${creds.file}`));
    return err(new RemoteAuthError(this.remote, `GET /v2/ answered ${again.value.status} with the credentials given`));
  }

  /**
   * Takes in a 401's challenge: Basic sets the credentials to send, Bearer notes the realm
   * and what the registry asked for beyond `scope`. `used` is the authorization the refused
   * request carried: a token refused is dropped (it expired or was revoked), so the next
   * request fetches a new one; Basic credentials refused are an error.
   */
  private async answerChallenge(raw: string | undefined, scope: string, used: string | undefined): Promise<Result<void, RemoteError>> {
    const challenge = parseChallenge(raw);
    if (!challenge) return err(new RemoteAuthError(this.remote, `the registry wants authentication it does not name (WWW-Authenticate: ${raw ?? 'none'})`));
    if (challenge.scheme === 'basic') {
      const creds = await this.creds();
      if (!creds) return err(new RemoteAuthError(this.remote, 'the registry asks for a user name and password and no auth file has an entry for it'));
      const next = basicHeader(creds);
      if (this.basic === next && used === next) return err(new RemoteAuthError(this.remote, `the registry refused the credentials of ${creds.username} from ${creds.file}`));
      this.basic = next;
      this.bearer = undefined;
      return ok(undefined);
    }
    const realm = challenge.params['realm'];
    if (!realm || !/^https?:\/\/[^/]/.test(realm)) return err(new RemoteAuthError(this.remote, `the registry's token realm ${JSON.stringify(realm ?? '')} is not an http(s) URL`));
    if (this.bearer && (this.bearer.params['realm'] !== realm || this.bearer.params['service'] !== challenge.params['service'])) this.tokens.clear();
    this.bearer = challenge;
    this.basic = undefined;
    const asked = challenge.params['scope'];
    if (asked) {
      const merged = mergeScopes(scope, asked);
      if (merged.join(' ') !== scope) this.wanted.set(scope, merged);
    }
    const held = this.tokens.get(scope);
    if (held && used === `Bearer ${held.value}`) this.tokens.delete(scope);
    return ok(undefined);
  }

  private async creds(): Promise<Credentials | undefined> {
    if (this.credentials === null) this.credentials = await findCredentials({ registry: this.o.remote.registry, repository: this.o.remote.repository, env: this.o.env });
    return this.credentials;
  }

  /** The realm without its query, for messages. */
  private tokenService(): string {
    const realm = this.bearer?.params['realm'] ?? '';
    try {
      const u = new URL(realm);
      return `the token service at ${u.origin}${u.pathname}`;
    } catch {
      return 'the token service';
    }
  }

  /** Who the token was asked for, for messages. */
  private async who(): Promise<string> {
    const creds = await this.creds();
    return creds ? `${creds.username} (credentials from ${creds.file})` : `a caller without credentials (no auth file has an entry for ${this.o.remote.registry}; looked in ${authFiles(this.o.env).join(', ')})`;
  }

  /** The Authorization header for a request needing `scope`: Basic, a token (fetched when none is held or it is due), or none. */
  private async authorizationFor(scope: string): Promise<Result<string | undefined, RemoteError>> {
    if (this.basic) return ok(this.basic);
    if (!this.bearer) return ok(undefined);
    const held = this.tokens.get(scope);
    if (held && Date.now() < held.refreshAt) return ok(`Bearer ${held.value}`);
    let pending = this.fetching.get(scope);
    if (!pending) {
      pending = this.fetchToken(scope).finally(() => this.fetching.delete(scope));
      this.fetching.set(scope, pending);
    }
    const t = await pending;
    return t.ok ? ok(`Bearer ${t.value.value}`) : t;
  }

  /** GET realm?service=…&scope=…: the spec's token request, with the auth file's credentials as Basic when there are some. */
  private async fetchToken(scope: string): Promise<Result<Token, RemoteError>> {
    const c = this.bearer!;
    const url = new URL(c.params['realm']!);
    if (c.params['service']) url.searchParams.set('service', c.params['service']);
    // One `scope` parameter per scope, as the spec has it (a challenge lists them with spaces).
    for (const s of this.wanted.get(scope) ?? mergeScopes(scope)) url.searchParams.append('scope', s);
    const creds = await this.creds();
    const where = this.tokenService();
    const sentAt = Date.now();
    const r = await this.raw({ method: 'GET', url: url.toString(), headers: { accept: 'application/json', ...(creds ? { authorization: basicHeader(creds) } : {}) } });
    if (!r.ok) return err(new RemoteUnavailableError(this.remote, `${where} could not be reached: ${r.error.message.replace(`store remote ${this.remote}: `, '')}`, `check the registry's token realm (${url.origin}${url.pathname}) is up and reachable from here`, true));
    const t = await readTokenAnswer({ remote: this.remote, request: `token request to ${url.origin}${url.pathname}`, reply: r.value, sentAt, refused: (status) => {
      if (creds) return new RemoteAuthError(this.remote, `${where} refused the credentials of ${creds.username} from ${creds.file} (${status})`);
      return new RemoteAuthError(this.remote, `${where} wants credentials and no auth file has an entry for ${this.o.remote.registry} (looked in ${authFiles(this.o.env).join(', ')})`);
    } });
    if (!t.ok) return t;
    this.tokens.set(scope, t.value);
    return t;
  }

  private async raw(opts: { method: Dispatcher.HttpMethod; url: string; headers?: Record<string, string>; body?: Buffer | Readable; contentLength?: number }): Promise<Result<Reply, RemoteUnavailableError>> {
    try {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.contentLength !== undefined) headers['content-length'] = String(opts.contentLength);
      const r = await request(opts.url, { method: opts.method, headers, dispatcher: this.agent, ...(opts.body !== undefined ? { body: opts.body } : {}) });
      return ok({ status: r.statusCode, headers: r.headers, body: r.body });
    } catch (e: unknown) {
      const cause = (e as { cause?: unknown }).cause;
      return err(new RemoteUnavailableError(this.remote, `${opts.method} ${new URL(opts.url).pathname} failed: ${describe(e)}${cause ? ` (${describe(cause)})` : ''}`));
    }
  }

  /**
   * One request with auth: a 401 is answered once (a new token for the scope it names)
   * and the request made again, so `body` must be a Buffer or a function that reopens it.
   */
  private async send(opts: { method: Dispatcher.HttpMethod; url: string; headers?: Record<string, string>; body?: Buffer | (() => Readable | Buffer); contentLength?: number; scope?: string }): Promise<Result<Reply, RemoteError>> {
    const scope = opts.scope ?? this.baseScope;
    for (let attempt = 0; ; attempt++) {
      const authorization = await this.authorizationFor(scope);
      if (!authorization.ok) return authorization;
      const headers = { ...(opts.headers ?? {}), ...(authorization.value ? { authorization: authorization.value } : {}) };
      const body = typeof opts.body === 'function' ? opts.body() : opts.body;
      const r = await this.raw({ method: opts.method, url: opts.url, headers, ...(body !== undefined ? { body } : {}), ...(opts.contentLength !== undefined ? { contentLength: opts.contentLength } : {}) });
      if (!r.ok) return r;
      if (r.value.status !== 401 || attempt > 0) {
        if (r.value.status === 401 || r.value.status === 403) {
          await r.value.body.dump().catch(() => undefined);
          return err(await this.refused(opts.method, opts.url, r.value, scope));
        }
        return r;
      }
      await r.value.body.dump().catch(() => undefined);
      if (body && !Buffer.isBuffer(body)) body.destroy();
      const answered = await this.answerChallenge(header(r.value.headers, 'www-authenticate'), scope, authorization.value);
      if (!answered.ok) return answered;
    }
  }

  /** Why a request was refused after auth was answered, in words: whose token lacks what. */
  private async refused(method: string, url: string, r: Reply, scope: string): Promise<RemoteAuthError> {
    const what = `${method} ${new URL(url).pathname}`;
    const challenge = parseChallenge(header(r.headers, 'www-authenticate'));
    if (!this.bearer || challenge?.scheme !== 'bearer') {
      const creds = this.basic ? await this.creds() : undefined;
      return new RemoteAuthError(this.remote, `${what} was refused (${r.status})${creds ? ` with the credentials of ${creds.username} from ${creds.file}` : ''}`);
    }
    const error = challenge.params['error'];
    const asked = mergeScopes(scope, challenge.params['scope']).join(' ');
    return new RemoteAuthError(this.remote, `${what} was refused (${r.status}${error ? `, ${error}` : ''}): the token ${this.tokenService()} issued to ${await this.who()} does not grant ${asked}`);
  }

  private async fail(request: string, r: Reply): Promise<RemoteProtocolError> {
    const text = await r.body.text().catch(() => '');
    return new RemoteProtocolError(this.remote, request, r.status, text.trim());
  }

  /** The manifest under a tag or digest; undefined when there is none. */
  async getManifest(ref: string): Promise<Result<ManifestReply | undefined, RemoteError>> {
    const r = await this.send({ method: 'GET', url: this.repoPath(`manifests/${encodeURIComponent(ref)}`), headers: { accept: MANIFEST_TYPES } });
    if (!r.ok) return r;
    if (r.value.status === 404) {
      await r.value.body.dump().catch(() => undefined);
      return ok(undefined);
    }
    if (r.value.status !== 200) return err(await this.fail(`GET manifest ${ref}`, r.value));
    const len = Number(header(r.value.headers, 'content-length') ?? 0);
    if (len > MAX_MANIFEST) {
      r.value.body.destroy();
      return err(new RemoteProtocolError(this.remote, `GET manifest ${ref}`, 200, `the manifest is ${len} bytes, more than the ${MAX_MANIFEST} a weld manifest can be`));
    }
    const body = Buffer.from(await r.value.body.arrayBuffer());
    return ok({ digest: header(r.value.headers, 'docker-content-digest'), mediaType: header(r.value.headers, 'content-type') ?? '', body });
  }

  async hasManifest(ref: string): Promise<Result<boolean, RemoteError>> {
    const r = await this.send({ method: 'HEAD', url: this.repoPath(`manifests/${encodeURIComponent(ref)}`), headers: { accept: MANIFEST_TYPES } });
    if (!r.ok) return r;
    await r.value.body.dump().catch(() => undefined);
    if (r.value.status === 200) return ok(true);
    if (r.value.status === 404) return ok(false);
    return err(new RemoteProtocolError(this.remote, `HEAD manifest ${ref}`, r.value.status, ''));
  }

  async putManifest(ref: string, body: Buffer, mediaType: string): Promise<Result<void, RemoteError>> {
    const r = await this.send({ method: 'PUT', url: this.repoPath(`manifests/${encodeURIComponent(ref)}`), headers: { 'content-type': mediaType }, body, contentLength: body.byteLength });
    if (!r.ok) return r;
    if (r.value.status !== 201 && r.value.status !== 200) return err(await this.fail(`PUT manifest ${ref}`, r.value));
    await r.value.body.dump().catch(() => undefined);
    return ok(undefined);
  }

  async hasBlob(digest: string): Promise<Result<boolean, RemoteError>> {
    const r = await this.send({ method: 'HEAD', url: this.repoPath(`blobs/${digest}`) });
    if (!r.ok) return r;
    await r.value.body.dump().catch(() => undefined);
    if (r.value.status === 200) return ok(true);
    if (r.value.status === 404) return ok(false);
    return err(new RemoteProtocolError(this.remote, `HEAD blob ${digest}`, r.value.status, ''));
  }

  /** A blob's bytes as they arrive (the caller verifies them); redirects to blob storage are followed. */
  async getBlob(digest: string): Promise<Result<Readable | undefined, RemoteError>> {
    let url = this.repoPath(`blobs/${digest}`);
    for (let hop = 0; hop < 5; hop++) {
      const sameOrigin = new URL(url).origin === this.base;
      const r = sameOrigin ? await this.send({ method: 'GET', url }) : await this.raw({ method: 'GET', url });
      if (!r.ok) return r;
      const { status } = r.value;
      if (status === 200) return ok(r.value.body);
      await r.value.body.dump().catch(() => undefined);
      if (status === 404) return ok(undefined);
      const location = header(r.value.headers, 'location');
      if ([301, 302, 303, 307, 308].includes(status) && location) {
        url = new URL(location, url).toString();
        continue;
      }
      return err(new RemoteProtocolError(this.remote, `GET blob ${digest}`, status, ''));
    }
    return err(new RemoteProtocolError(this.remote, `GET blob ${digest}`, 310, 'too many redirects'));
  }

  /**
   * Pushes a blob the registry lacks, in one request after the upload session is opened
   * (POST, then PUT ?digest=): the spec's monolithic upload. `mountFrom` asks for a
   * cross-repository mount first; a registry that cannot mount opens an upload instead.
   */
  async pushBlob(opts: { digest: string; size: number; open: () => Readable | Buffer; mountFrom?: string }): Promise<Result<'uploaded' | 'mounted', RemoteError>> {
    const q = opts.mountFrom ? `?mount=${encodeURIComponent(opts.digest)}&from=${encodeURIComponent(opts.mountFrom)}` : '';
    const scope = opts.mountFrom ? `repository:${this.o.remote.repository}:pull,push repository:${opts.mountFrom}:pull` : undefined;
    const started = await this.send({ method: 'POST', url: this.repoPath(`blobs/uploads/${q}`), contentLength: 0, ...(scope ? { scope } : {}) });
    if (!started.ok) return started;
    await started.value.body.dump().catch(() => undefined);
    if (started.value.status === 201 && opts.mountFrom) return ok('mounted');
    if (started.value.status !== 202) return err(new RemoteProtocolError(this.remote, 'POST blob upload', started.value.status, ''));
    const location = header(started.value.headers, 'location');
    if (!location) return err(new RemoteProtocolError(this.remote, 'POST blob upload', 202, 'no Location header for the upload'));
    const target = new URL(location, this.base + '/');
    target.searchParams.set('digest', opts.digest);
    const put = await this.send({ method: 'PUT', url: target.toString(), headers: { 'content-type': 'application/octet-stream' }, body: opts.open, contentLength: opts.size });
    if (!put.ok) return put;
    if (put.value.status !== 201) return err(await this.fail(`PUT blob ${opts.digest}`, put.value));
    await put.value.body.dump().catch(() => undefined);
    return ok('uploaded');
  }

  /** Every tag of the repository, page by page (the spec's n/last and Link header). */
  async tags(): Promise<Result<string[], RemoteError>> {
    const out: string[] = [];
    let url: string | undefined = this.repoPath('tags/list?n=1000');
    while (url) {
      const r = await this.send({ method: 'GET', url });
      if (!r.ok) return r;
      if (r.value.status === 404) {
        await r.value.body.dump().catch(() => undefined);
        return ok(out); // a repository nothing was pushed to yet
      }
      if (r.value.status !== 200) return err(await this.fail('GET tags/list', r.value));
      const doc = (await r.value.body.json().catch(() => ({}))) as { tags?: unknown };
      const page = Array.isArray(doc.tags) ? doc.tags.filter((t): t is string => typeof t === 'string') : [];
      out.push(...page);
      const link = header(r.value.headers, 'link');
      const next = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link)?.[1] : undefined;
      url = next && page.length ? new URL(next, this.base).toString() : undefined;
    }
    return ok(out);
  }
}
