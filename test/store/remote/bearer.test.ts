import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest } from '../../../src/store/digest.js';
import { generateKey, trustedKeys, type SigningKey } from '../../../src/store/remote/keys.js';
import { recordTag } from '../../../src/store/remote/layout.js';
import { Puller } from '../../../src/store/remote/pull.js';
import { Pusher } from '../../../src/store/remote/push.js';
import { connectRemote, type Remote } from '../../../src/store/remote/remote.js';
import { parseRemoteUrl } from '../../../src/store/remote/url.js';
import type { Store } from '../../../src/store/store.js';
import { weld } from '../../helpers/project.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { buildRecord, freshStore, putText, tempDir } from '../../helpers/store-temp.js';
import type { TokenServer } from '../../helpers/token-server.js';

// The store remote on a registry that wants Bearer tokens (the distribution spec's token
// flow): Debian's docker-registry with `auth: token`, and a real token server on
// 127.0.0.1 that checks Basic credentials and signs the JWTs the registry verifies.

let tmp: { dir: string; cleanup: () => Promise<void> };
let key: SigningKey;
beforeAll(async () => {
  tmp = await tempDir('weld-remote-bearer-');
  const k = await generateKey({ dir: path.join(tmp.dir, 'keys'), name: 'ci-bearer' });
  if (!k.ok) throw k.error;
  key = k.value;
});
afterAll(() => tmp?.cleanup());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let serial = 0;

/** An auth file as `podman login` writes it: auths.HOST.auth = base64(user:password). */
function authFile(host: string, user: string, password: string): string {
  const file = path.join(tmp.dir, `auth-${serial++}.json`);
  writeFileSync(file, JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } }, null, '\t'));
  return file;
}

/** An environment with no credentials anywhere weld looks, unless `authFile` is given. */
function envWith(file?: string): NodeJS.ProcessEnv {
  const home = path.join(tmp.dir, `home-${serial++}`);
  mkdirSync(home, { recursive: true });
  return { HOME: home, XDG_RUNTIME_DIR: path.join(home, 'run'), ...(file ? { REGISTRY_AUTH_FILE: file } : {}) };
}

async function connect(registry: TestRegistry, env: NodeJS.ProcessEnv, repo = 'weld/bearer') {
  const url = parseRemoteUrl(registry.url(repo), 'test');
  const trusted = trustedKeys([key.publicLine]);
  if (!url.ok || !trusted.ok) throw new Error('setup');
  return connectRemote({ url: url.value, tlsVerify: false, trusted: trusted.value, signingKey: key, env });
}

async function connected(registry: TestRegistry, env: NodeJS.ProcessEnv, repo?: string): Promise<Remote> {
  const r = await connect(registry, env, repo);
  if (!r.ok) throw r.error;
  return r.value;
}

/** A store with one build record of `blobs` outputs. */
async function storeWithBuild(pkg: string, blobs: number): Promise<{ store: Store; id: Digest }> {
  const store = await freshStore(path.join(tmp.dir, `${pkg}-${serial++}`));
  const outputs: Digest[] = [];
  for (let i = 0; i < blobs; i++) outputs.push(await putText(store, `${pkg} output ${i} ${randomBytes(8).toString('hex')}`));
  const rec = buildRecord({ pkg, outputs });
  const w = await store.writeRecords([rec]);
  if (!w.ok) throw w.error;
  return { store, id: rec.id as Digest };
}

async function push(remote: Remote, store: Store, id: Digest): Promise<Pusher> {
  const got = await store.getRecord('build', id);
  if (!got.ok || !got.value) throw new Error('no record');
  const pusher = new Pusher(remote, store);
  const r = await pusher.pushRecord(got.value);
  if (!r.ok) throw r.error;
  return pusher;
}

const tokenRequests = (t: TokenServer) => t.requests.length;

describe('a registry behind a Bearer token server', () => {
  let registry: TestRegistry;
  let tokens: TokenServer;
  beforeAll(async () => {
    registry = await startRegistry({ token: { user: 'weld', password: 'tok3n-pass' } });
    tokens = registry.tokens!;
  });
  afterAll(() => registry?.close());

  it('answers 401 with a Bearer challenge naming the realm and service', async () => {
    const raw = await fetch(`http://${registry.host}/v2/`);
    expect(raw.status).toBe(401);
    expect(raw.headers.get('www-authenticate')).toBe(`Bearer realm="${tokens.realm}",service="${tokens.service}"`);
  });

  it('pushes and pulls through `weld store push` and `weld store pull` with the credentials of $REGISTRY_AUTH_FILE', async () => {
    const { store, id } = await storeWithBuild('tokened', 3);
    const file = authFile(registry.host, 'weld', 'tok3n-pass');
    const env = { ...envWith(file), WELD_KEYS_DIR: path.join(tmp.dir, 'keys'), WELD_SIGNING_KEY: path.join(tmp.dir, 'keys/ci-bearer.key'), WELD_STORE_REMOTE: registry.url('weld/cli'), WELD_TLS_VERIFY: 'false' };
    const before = tokens.requests.length;
    const pushed = await weld(['store', 'push', 'tokened'], { cwd: tmp.dir, env: { ...env, WELD_STORE: store.path } });
    expect(pushed.stderr).toBe('');
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toMatch(/^pushed 1 tag to oci:\/\/127\.0\.0\.1:\d+\/weld\/cli \(4 blobs, /);
    const asked = tokens.requests.slice(before);
    expect(asked.length).toBeGreaterThan(0);
    for (const r of asked) expect(r).toMatchObject({ user: 'weld', service: tokens.service, status: 200 });
    expect(asked.flatMap((r) => r.scopes)).toContain('repository:weld/cli:pull,push');

    const project = path.join(tmp.dir, `proj-${serial++}`);
    mkdirSync(path.join(project, 'metadata'), { recursive: true });
    writeFileSync(path.join(project, 'metadata/weld.toml'), `[distro]\nname = "t"\narch = "s390x"\nenv = "bookworm-s390x"\n\n[store]\ntrusted_keys = ["${key.publicLine}"]\n`);
    const b = path.join(tmp.dir, `pulled-${serial++}`);
    const pulled = await weld(['store', 'pull', 'tokened'], { cwd: project, env: { ...env, WELD_STORE: b } });
    expect(pulled.stderr).toBe('');
    expect(pulled.stdout).toMatch(/^pulled 1 record from oci:\/\/127\.0\.0\.1:\d+\/weld\/cli \(3 blobs, /);
    const ls = await weld(['store', 'ls', '--records'], { cwd: project, env: { WELD_STORE: b } });
    expect(ls.stdout).toContain(`from ${registry.url('weld/cli')} (ci-bearer)`);

    // skopeo, through the same token flow, reads what weld pushed: with --creds and with the auth file
    const ref = `docker://${registry.host}/weld/cli:${recordTag('build', id)}`;
    for (const auth of [['--creds', 'weld:tok3n-pass'], ['--authfile', file]]) {
      // not execFileSync: the token server skopeo asks runs in this process
      const { stdout } = await promisify(execFile)('/usr/bin/skopeo', ['inspect', '--raw', '--tls-verify=false', ...auth, ref], { encoding: 'utf8', env: { ...process.env, ...envWith() }, timeout: 60_000 });
      const raw = JSON.parse(stdout) as { config: { mediaType: string }; layers: unknown[] };
      expect(raw.config.mediaType).toBe('application/vnd.weld.record.v1+dsse+json');
      expect(raw.layers).toHaveLength(3);
    }
  });

  it('without credentials is E_REMOTE_AUTH, naming the token service, where weld looked, and `podman login`', async () => {
    const env = envWith();
    const r = await connect(registry, env);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('E_REMOTE_AUTH');
    expect(r.error.message).toBe(
      `store remote ${registry.url('weld/bearer')}: the token service at ${tokens.realm} wants credentials and no auth file has an entry for ${registry.host} (looked in ${path.join(env['XDG_RUNTIME_DIR']!, 'containers/auth.json')}, ${path.join(env['HOME']!, '.docker/config.json')})`,
    );
    expect(r.error.hint).toContain(`\`podman login ${registry.host}\``);
    expect(tokens.requests.at(-1)).toMatchObject({ user: undefined, scopes: ['repository:weld/bearer:pull,push'], status: 401 });

    const { store } = await storeWithBuild('nocreds', 1);
    const cli = await weld(['store', 'push', '--all'], { cwd: tmp.dir, env: { ...env, WELD_STORE: store.path, WELD_KEYS_DIR: path.join(tmp.dir, 'keys'), WELD_STORE_REMOTE: registry.url(), WELD_TLS_VERIFY: 'false' } });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain(`the token service at ${tokens.realm} wants credentials`);
    expect(cli.stderr).toContain(`podman login ${registry.host}`);
  });

  it('refuses a wrong password clearly, naming the user and the file', async () => {
    const file = authFile(registry.host, 'weld', 'not-the-password');
    const r = await connect(registry, envWith(file));
    expect(r.ok ? 'connected' : [r.error.code, r.error.message]).toEqual(['E_REMOTE_AUTH', `store remote ${registry.url('weld/bearer')}: the token service at ${tokens.realm} refused the credentials of weld from ${file} (401)`]);
    expect(tokens.requests.at(-1)).toMatchObject({ user: 'weld', status: 401 });
  });

  it('fetches one token for a whole push and pull of many blobs, not one per request', async () => {
    const { store, id } = await storeWithBuild('many', 12);
    const before = tokenRequests(tokens);
    const remote = await connected(registry, envWith(authFile(registry.host, 'weld', 'tok3n-pass')), 'weld/many');
    const pusher = await push(remote, store, id);
    expect(pusher.report.blobsUploaded).toBe(13); // 12 outputs and the signed config
    const other = await freshStore(path.join(tmp.dir, `many-b-${serial++}`));
    const got = await new Puller(remote, other).pull('build', id);
    if (!got.ok) throw got.error;
    expect(got.value?.blobsFetched).toBe(12);
    expect(tokens.requests.slice(before)).toEqual([{ user: 'weld', service: tokens.service, scopes: ['repository:weld/many:pull,push'], status: 200, granted: ['repository:weld/many:pull,push'] }]);
    await remote.client.close();
  });

  it('asks for each scope of a cross-repository mount as its own `scope` parameter, and mounts', async () => {
    const { store, id } = await storeWithBuild('mounted', 2);
    const env = envWith(authFile(registry.host, 'weld', 'tok3n-pass'));
    const first = await connected(registry, env, 'weld/mount-from');
    await push(first, store, id);
    await first.client.close();
    const remote = await connected(registry, env, 'weld/mount-to');
    const before = tokenRequests(tokens);
    const got = await store.getRecord('build', id);
    if (!got.ok || !got.value) throw new Error('no record');
    const pusher = new Pusher(remote, store, ['weld/mount-from']);
    const pushed = await pusher.pushRecord(got.value);
    if (!pushed.ok) throw pushed.error;
    // the outputs are mounted; the signed config goes up as bytes, without a mount
    expect(pusher.report).toMatchObject({ blobsMounted: 2, blobsUploaded: 1 });
    expect(tokens.requests.slice(before)).toEqual([{ user: 'weld', service: tokens.service, scopes: ['repository:weld/mount-to:pull,push', 'repository:weld/mount-from:pull'], status: 200, granted: ['repository:weld/mount-to:pull,push', 'repository:weld/mount-from:pull'] }]);
    await remote.client.close();
  });

  it('says so clearly when the token service answers something that is not a token, and reads no more than a token can be', async () => {
    const env = envWith(authFile(registry.host, 'weld', 'tok3n-pass'));
    const cases: [NonNullable<TokenServer['misbehave']>, string][] = [
      ['not-json', `store remote ${registry.url('weld/bearer')}: token request to ${tokens.realm} answered 200: the answer is not JSON (text/html): "<html><body>Welcome to our single sign-on portal</body></html>"; is the realm the registry names a token service?`],
      ['no-token', `store remote ${registry.url('weld/bearer')}: token request to ${tokens.realm} answered 200: the answer has no usable token (neither "token" nor "access_token" is a non-empty string)`],
      ['server-error', `store remote ${registry.url('weld/bearer')}: token request to ${tokens.realm} answered 500: {"errors":[{"code":"UNKNOWN","message":"the token database is down"}]}`],
      ['huge', `store remote ${registry.url('weld/bearer')}: token request to ${tokens.realm} answered 200: the answer is more than 1024 KiB, which no token answer is; it was not read`],
    ];
    try {
      for (const [how, message] of cases) {
        tokens.misbehave = how;
        const r = await connect(registry, env);
        expect(r.ok ? 'connected' : [r.error.code, r.error.message]).toEqual(['E_REMOTE_PROTOCOL', message]);
      }
    } finally {
      tokens.misbehave = undefined;
    }
    // it stopped reading: the server got to send far less than the 256 MiB it had
    expect(tokens.hugeBytesSent).toBeLessThan(64 * 2 ** 20);
  });
});

describe('a token server that gives anonymous callers pull only', () => {
  let registry: TestRegistry;
  let tokens: TokenServer;
  beforeAll(async () => {
    registry = await startRegistry({ token: { user: 'weld', password: 'tok3n-pass', anonymous: ['pull'] } });
    tokens = registry.tokens!;
  });
  afterAll(() => registry?.close());

  it('lets weld pull without credentials, and refuses a push saying the token does not grant it', async () => {
    const { store, id } = await storeWithBuild('public', 2);
    const writer = await connected(registry, envWith(authFile(registry.host, 'weld', 'tok3n-pass')));
    await push(writer, store, id);
    await writer.client.close();

    const anonymous = await connected(registry, envWith());
    expect(tokens.requests.at(-1)).toMatchObject({ user: undefined, scopes: ['repository:weld/bearer:pull,push'], status: 200, granted: ['repository:weld/bearer:pull'] });
    const b = await freshStore(path.join(tmp.dir, `anon-${serial++}`));
    const got = await new Puller(anonymous, b).pull('build', id);
    if (!got.ok) throw got.error;
    expect(got.value?.blobsFetched).toBe(2);

    const mine = await storeWithBuild('anon-push', 1);
    const rec = await mine.store.getRecord('build', mine.id);
    if (!rec.ok || !rec.value) throw new Error('no record');
    const pushed = await new Pusher(anonymous, mine.store).pushRecord(rec.value);
    expect(pushed.ok).toBe(false);
    if (pushed.ok) return;
    expect(pushed.error.code).toBe('E_REMOTE_AUTH');
    expect(pushed.error.message).toMatch(
      new RegExp(`^store remote ${esc(registry.url('weld/bearer'))}: POST /v2/weld/bearer/blobs/uploads/ was refused \\(401, insufficient_scope\\): the token the token service at ${esc(tokens.realm)} issued to a caller without credentials \\(no auth file has an entry for ${esc(registry.host)}; looked in .*\\) does not grant repository:weld/bearer:pull,push$`),
    );
    expect(pushed.error.hint).toContain(`podman login ${registry.host}`);
    await anonymous.client.close();
  });
});

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('tokens that expire', () => {
  it('are fetched again when their expires_in is up (an `access_token` answer, as OAuth 2 servers give)', async () => {
    const registry = await startRegistry({ token: { user: 'weld', password: 'tok3n-pass', expiresIn: 2, field: 'access_token' } });
    try {
      const tokens = registry.tokens!;
      const remote = await connected(registry, envWith(authFile(registry.host, 'weld', 'tok3n-pass')));
      const a = await storeWithBuild('short-a', 3);
      await push(remote, a.store, a.id);
      const first = tokenRequests(tokens);
      expect(first).toBeGreaterThanOrEqual(1);
      expect(first).toBeLessThanOrEqual(2);
      await sleep(2500); // past the 2 s the token was given for
      const b = await storeWithBuild('short-b', 3);
      const pusher = await push(remote, b.store, b.id);
      expect(pusher.report.blobsUploaded).toBe(4);
      expect(tokenRequests(tokens)).toBeGreaterThan(first);
      expect(tokenRequests(tokens)).toBeLessThanOrEqual(first + 2);
      expect(tokens.requests.every((r) => r.status === 200)).toBe(true);
      await remote.client.close();
    } finally {
      await registry.close();
    }
  });

  it('are fetched again, once for requests at once, when the registry refuses one that weld thought was still good', async () => {
    // expires_in says an hour; the registry takes the JWT for 3 s (a token service that
    // revoked it, or a clock that is off): the 401 the registry answers is what tells.
    const registry = await startRegistry({ token: { user: 'weld', password: 'tok3n-pass', expiresIn: 3600, validFor: 3 } });
    try {
      const tokens = registry.tokens!;
      const remote = await connected(registry, envWith(authFile(registry.host, 'weld', 'tok3n-pass')));
      const a = await storeWithBuild('revoked-a', 2);
      await push(remote, a.store, a.id);
      const first = tokenRequests(tokens);
      expect(first).toBe(1);
      await sleep(3500);
      const b = await storeWithBuild('revoked-b', 8);
      const pusher = await push(remote, b.store, b.id);
      expect(pusher.report.blobsUploaded).toBe(9);
      expect(tokenRequests(tokens)).toBeGreaterThan(first);
      expect(tokenRequests(tokens)).toBeLessThanOrEqual(first + 2);
      await remote.client.close();
    } finally {
      await registry.close();
    }
  });
});

describe('a token service that is down', () => {
  it('is E_REMOTE_UNAVAILABLE naming the token service, not the registry', async () => {
    const registry = await startRegistry({ token: { user: 'weld', password: 'tok3n-pass' } });
    try {
      await registry.tokens!.close();
      const r = await connect(registry, envWith(authFile(registry.host, 'weld', 'tok3n-pass')));
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error.code).toBe('E_REMOTE_UNAVAILABLE');
      expect(r.error.message).toMatch(new RegExp(`^store remote ${esc(registry.url('weld/bearer'))}: the token service at ${esc(registry.tokens!.realm)} could not be reached: GET /token failed: `));
      expect(r.error.hint).toBe(`check the registry's token realm (${registry.tokens!.realm}) is up and reachable from here`);
    } finally {
      await registry.close();
    }
  });
});
