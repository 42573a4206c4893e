import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
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
    void id;
  });
});
