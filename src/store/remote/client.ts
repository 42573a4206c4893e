import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { err, ok, type Result } from '../../core/result.js';
import { describe } from '../errors.js';
import { basicHeader, findCredentials, parseChallenge, type Challenge, type Credentials } from './auth.js';
import { RemoteAuthError, RemoteProtocolError, RemoteUnavailableError } from './errors.js';
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

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

export interface ManifestReply {
  digest: string | undefined;
  mediaType: string;
  body: Buffer;
}

const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'].join(', ');
const MAX_MANIFEST = 4 * 2 ** 20;

function header(h: Reply['headers'], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

export class RegistryClient {
  private authorization: string | undefined;
  private readonly tokens = new Map<string, string>();
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
      if (!(pinged.error instanceof RemoteUnavailableError)) {
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

  private async ping(): Promise<Result<void, RemoteError>> {
    const r = await this.raw({ method: 'GET', url: `${this.base}/v2/` });
    if (!r.ok) return r;
    await r.value.body.dump().catch(() => undefined);
    if (r.value.status === 200) return ok(undefined);
    if (r.value.status === 401) {
      const answered = await this.answerChallenge(header(r.value.headers, 'www-authenticate'), `repository:${this.o.remote.repository}:pull,push`);
      if (!answered.ok) return answered;
      // Asked again with what we answered, so wrong credentials are found now, not mid-push.
      const again = await this.raw({ method: 'GET', url: `${this.base}/v2/`, headers: { authorization: this.authorization! } });
      if (!again.ok) return again;
      await again.value.body.dump().catch(() => undefined);
      if (again.value.status === 200) return ok(undefined);
      const creds = await this.creds();
      if (again.value.status === 401 && creds) return err(new RemoteAuthError(this.remote, `the registry refused the credentials of ${creds.username} from ${creds.file}`));
      return err(new RemoteAuthError(this.remote, `GET /v2/ answered ${again.value.status} with the credentials given`));
    }
    return err(new RemoteUnavailableError(this.remote, `GET /v2/ answered ${r.value.status}: not an OCI distribution registry?`));
  }

  /** Sets this.authorization from a 401's challenge; an error when we have nothing to answer with. */
  private async answerChallenge(raw: string | undefined, scope: string): Promise<Result<void, RemoteError>> {
    const challenge = parseChallenge(raw);
    if (!challenge) return err(new RemoteAuthError(this.remote, `the registry wants authentication it does not name (WWW-Authenticate: ${raw ?? 'none'})`));
    const creds = await this.creds();
    if (challenge.scheme === 'basic') {
      if (!creds) return err(new RemoteAuthError(this.remote, 'the registry asks for a user name and password and no auth file has an entry for it'));
      const next = basicHeader(creds);
      if (this.authorization === next) return err(new RemoteAuthError(this.remote, `the registry refused the credentials of ${creds.username} from ${creds.file}`));
      this.authorization = next;
      return ok(undefined);
    }
    return this.fetchToken(challenge, scope, creds);
  }

  private async creds(): Promise<Credentials | undefined> {
    if (this.credentials === null) this.credentials = await findCredentials({ registry: this.o.remote.registry, repository: this.o.remote.repository, env: this.o.env });
    return this.credentials;
  }

  private async fetchToken(c: Challenge, fallbackScope: string, creds: Credentials | undefined): Promise<Result<void, RemoteError>> {
    const realm = c.params['realm'];
    if (!realm || !/^https?:\/\//.test(realm)) return err(new RemoteAuthError(this.remote, `the token realm ${JSON.stringify(realm ?? '')} is not an http(s) URL`));
    const scope = c.params['scope'] ?? fallbackScope;
    const cached = this.tokens.get(scope);
    if (cached && this.authorization !== `Bearer ${cached}`) {
      this.authorization = `Bearer ${cached}`;
      return ok(undefined);
    }
    const url = new URL(realm);
    if (c.params['service']) url.searchParams.set('service', c.params['service']);
    url.searchParams.set('scope', scope);
    const r = await this.raw({ method: 'GET', url: url.toString(), headers: creds ? { authorization: basicHeader(creds) } : {} });
    if (!r.ok) return r;
    const text = await r.value.body.text().catch(() => '');
    if (r.value.status === 401 || r.value.status === 403) return err(new RemoteAuthError(this.remote, creds ? `the token service refused the credentials of ${creds.username} from ${creds.file}` : 'the token service wants credentials and no auth file has an entry for this registry'));
    if (r.value.status !== 200) return err(new RemoteProtocolError(this.remote, `GET ${url.origin}${url.pathname}`, r.value.status, text));
    let token: unknown;
    try {
      const doc = JSON.parse(text) as { token?: unknown; access_token?: unknown };
      token = doc.token ?? doc.access_token;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || token === '') return err(new RemoteAuthError(this.remote, 'the token service answered without a token'));
    this.tokens.set(scope, token);
    this.authorization = `Bearer ${token}`;
    return ok(undefined);
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
    for (let attempt = 0; ; attempt++) {
      const headers = { ...(opts.headers ?? {}), ...(this.authorization ? { authorization: this.authorization } : {}) };
      const body = typeof opts.body === 'function' ? opts.body() : opts.body;
      const r = await this.raw({ method: opts.method, url: opts.url, headers, ...(body !== undefined ? { body } : {}), ...(opts.contentLength !== undefined ? { contentLength: opts.contentLength } : {}) });
      if (!r.ok) return r;
      if (r.value.status !== 401 || attempt > 0) {
        if (r.value.status === 401 || r.value.status === 403) {
          await r.value.body.dump().catch(() => undefined);
          return err(new RemoteAuthError(this.remote, `${opts.method} ${new URL(opts.url).pathname} was refused (${r.value.status})`));
        }
        return r;
      }
      await r.value.body.dump().catch(() => undefined);
      if (body && !Buffer.isBuffer(body)) body.destroy();
      const answered = await this.answerChallenge(header(r.value.headers, 'www-authenticate'), opts.scope ?? `repository:${this.o.remote.repository}:pull,push`);
      if (!answered.ok) return answered;
    }
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
