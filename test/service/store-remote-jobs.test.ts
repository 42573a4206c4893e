import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service/server.js';
import { readServiceConfig } from '../../src/service/config.js';
import { generateKey } from '../../src/store/remote/keys.js';
import { git } from '../helpers/git.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { serviceFixture, submit, waitForState, type ServiceFixture } from './fixture.js';

// Two build servers sharing a store through a real registry (docker-registry on
// 127.0.0.1): A's jobs push what they build, signed with A's key; B, with an empty store
// and A's key trusted, builds nothing: its packages are cached, substituted from the
// registry. The remote is the server's own: a job's metadata naming another remote and
// trusting another key changes nothing.

describe('the build service with a store remote', () => {
  let fx: ServiceFixture;
  let registry: TestRegistry;
  let a: RunningService;
  let b: RunningService;
  let keyId: string;
  beforeAll(async () => {
    registry = await startRegistry();
    fx = await serviceFixture();
    const k = await generateKey({ dir: path.join(fx.tmp, 'keys'), name: 'server-a' });
    if (!k.ok) throw k.error;
    keyId = k.value.name;
    const intruder = await generateKey({ dir: path.join(fx.tmp, 'keys'), name: 'intruder' });
    if (!intruder.ok) throw intruder.error;
    // What a hostile repository might say: another remote, pushing, and a key of its own.
    appendFileSync(path.join(fx.repo, 'metadata/weld.toml'), `\n[store]\nremote = "oci://127.0.0.1:1/elsewhere"\npush = true\ntls_verify = false\ntrusted_keys = ["${intruder.value.publicLine}"]\n`);
    git(fx.repo, 'commit', '-q', '-am', 'a [store] of its own');
    const remote = { storeRemote: registry.url('weld/service'), tlsVerify: false, trustedKeys: [k.value.publicLine] };
    a = await fx.start({ stateDir: path.join(fx.tmp, 'state-a'), storePath: path.join(fx.tmp, 'store-a'), config: { ...remote, storePush: true, signingKey: k.value.secretFile } });
    b = await fx.start({ stateDir: path.join(fx.tmp, 'state-b'), storePath: path.join(fx.tmp, 'store-b'), config: remote });
  }, 120_000);
  afterAll(async () => {
    await fx?.cleanup();
    await registry?.close();
  });

  it("A builds and pushes; B substitutes every package and builds none", { timeout: 120_000 }, async () => {
    const first = await submit({ url: a.url, body: { repository: fx.repo, ref: 'main', packages: ['beta'] } });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const built = await waitForState({ url: a.url, id: first.body['id'] as string, states: ['done', 'ready', 'failed'] });
    expect(built['state'], JSON.stringify(built['transitions'])).not.toBe('failed');
    expect(Object.values(built['packageStates'] as Record<string, { state: string }>).map((s) => s.state)).toEqual(['built', 'built']);
    const logA = await (await fetch(`${a.url}/api/v1/jobs/${first.body['id'] as string}/log`)).text();
    expect(logA).toMatch(/pushed 2 records to oci:\/\/127\.0\.0\.1:\d+\/weld\/service \(\d+ blobs, \d+ bytes sent\)/);

    const second = await submit({ url: b.url, body: { repository: fx.repo, ref: 'main', packages: ['beta'] } });
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    const job = await waitForState({ url: b.url, id: second.body['id'] as string, states: ['done', 'ready', 'failed'] });
    expect(job['state'], JSON.stringify(job['transitions'])).not.toBe('failed');
    const states = job['packageStates'] as Record<string, { state: string; substituted?: { remote: string; keyId: string } }>;
    for (const pkg of ['alpha', 'beta']) {
      expect(states[pkg]!.state).toBe('cached');
      expect(states[pkg]!.substituted).toEqual({ remote: registry.url('weld/service'), keyId });
    }
    const transitions = job['transitions'] as Array<{ state: string; reason: string }>;
    expect(transitions.find((t) => t.state === 'done')!.reason).toBe('0 built, 0 cached, 2 substituted');
    const store = (await (await fetch(`${b.url}/api/v1/store`)).json()) as { remote: { url: string } | null };
    expect(store.remote).toEqual({ url: registry.url('weld/service') });
  });

  it("A's composes go up too, with store_push: the wheelhouse as wheelhouse-<compose>-<digest12>", { timeout: 120_000 }, async () => {
    const r = await submit({ url: a.url, body: { repository: fx.repo, ref: 'main', packages: ['beta'], composes: ['good'] } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const job = await waitForState({ url: a.url, id: r.body['id'] as string, states: ['ready', 'failed'] });
    expect(job['state'], JSON.stringify(job['transitions'])).toBe('ready');
    const manifest = (job['composed'] as Record<string, { manifest: string }>)['good']!.manifest;
    const log = await (await fetch(`${a.url}/api/v1/jobs/${r.body['id'] as string}/log`)).text();
    expect(log).toMatch(/compose good: pushed 1 tag to oci:\/\/127\.0\.0\.1:\d+\/weld\/service \(0 there already\)/);
    const tags = (await (await fetch(`http://${registry.host}/v2/weld/service/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toContain(`wheelhouse-good-${manifest.slice(7, 19)}`);
  });

  it('reads the remote from the config file and refuses bad values there', async () => {
    const file = path.join(fx.tmp, 'server.toml');
    writeFileSync(file, `store_remote = "${registry.url('weld/service')}"\nstore_push = true\ntls_verify = false\ntrusted_keys = ["x:AAAA"]\nsigning_key = "keys/server-a.key"\n`);
    const c = readServiceConfig(file);
    expect(c.ok && c.value).toEqual({ storeRemote: registry.url('weld/service'), storePush: true, tlsVerify: false, trustedKeys: ['x:AAAA'], signingKey: path.join(fx.tmp, 'keys/server-a.key') });
    writeFileSync(file, 'store_push = "yes"\n');
    const bad = readServiceConfig(file);
    expect(!bad.ok && bad.error.message).toBe(`${file}: store_push must be true or false`);
  });

  it('a server whose store remote is not a registry URL does not start, and says why', async () => {
    await expect(fx.start({ stateDir: path.join(fx.tmp, 'state-c'), storePath: path.join(fx.tmp, 'store-c'), config: { storeRemote: 'http://example.org/x' } })).rejects.toThrow(/oci:\/\//);
  });
});
