import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envInputsDigest } from '../../src/envs/inputs.js';
import { formatEnvLock } from '../../src/envs/lock-file.js';
import { openMetadata } from '../../src/metadata/open.js';
import { generateKey } from '../../src/store/remote/keys.js';
import { buildDeb } from '../helpers/debs.js';
import { eventStream } from '../helpers/event-lines.js';
import { sampleProject, weld } from '../helpers/project.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { fileServer, type TestServer } from '../helpers/servers.js';

// `weld env compose` on two machines through the CLI: A (push = true) fetches, composes and
// pushes; B, whose Debian mirror is gone and whose store is empty, takes the image by its lock.
describe('weld env compose with a store remote', () => {
  const ENV = 'bookworm-s390x-runtime';
  let root: string;
  let done: () => void;
  let server: TestServer;
  let registry: TestRegistry;
  let a: NodeJS.ProcessEnv;
  let b: NodeJS.ProcessEnv;
  beforeAll(async () => {
    ({ root, cleanup: done } = sampleProject());
    const archive = path.join(root, 'archive');
    const locked = [
      buildDeb({ dir: root, name: 'base-passwd', files: [{ path: 'usr/share/base-passwd/passwd.master', content: 'root:*:0:0:root:/root:/bin/sh\n' }, { path: 'usr/share/base-passwd/group.master', content: 'root:*:0:\n' }] }),
      buildDeb({ dir: root, name: 'hello', compression: 'gzip', files: [{ path: 'usr/bin/hello', content: 'hi\n', mode: 0o755 }] }),
    ].map((d) => {
      mkdirSync(path.join(archive, path.dirname(d.locked.path)), { recursive: true });
      writeFileSync(path.join(archive, d.locked.path), d.bytes);
      return d.locked;
    });
    server = await fileServer(archive);
    registry = await startRegistry();
    const m = await openMetadata({ cwd: root, cache: false });
    if (!m.ok) throw m.error;
    const env = m.value.envs.get(ENV)!;
    writeFileSync(path.join(root, `metadata/envs/${ENV}.lock.toml`), formatEnvLock({ env: ENV, lock: { inputs: envInputsDigest(env), suite: env.suite, arch: env.arch, debs: locked } }));
    const key = await generateKey({ dir: path.join(root, 'keys'), name: 'machine-a' });
    if (!key.ok) throw key.error;
    appendFileSync(path.join(root, 'metadata/weld.toml'), `\n[store]\nremote = "${registry.url('weld/envs')}"\ntls_verify = false\ntrusted_keys = ["${key.value.publicLine}"]\npush = true\n`);
    const base = { WELD_KEYS_DIR: path.join(root, 'no-keys') };
    a = { ...base, WELD_DEBIAN_MIRROR: server.url, WELD_STORE: path.join(root, 'store-a'), WELD_SIGNING_KEY: key.value.secretFile };
    b = { ...base, WELD_DEBIAN_MIRROR: `${server.url}/gone`, WELD_STORE: path.join(root, 'store-b') };
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await registry?.close();
    done?.();
  });

  it('A composes and pushes the image and its record; B takes it without a deb, and then has it', async () => {
    expect((await weld(['env', 'fetch', ENV], { cwd: root, env: a })).code).toBe(0);
    const composed = await weld(['env', 'compose', ENV, '--no-load'], { cwd: root, env: a });
    // progress on stderr: it looked on the remote (nothing there yet: no warning), then composed
    expect(composed.stderr).toMatch(new RegExp(`^weld env: ${ENV}: looking for its image on oci://127\\.0\\.0\\.1:\\d+/weld/envs\nweld env: ${ENV}: unpacking 2 debs\n`));
    expect(composed.stderr).not.toContain('warning');
    expect(composed.stdout).toMatch(new RegExp(`^${ENV}: image (sha256:[0-9a-f]{64}) \\(composed in [\\d.]+ s\\)\\n${ENV}: pushed 2 of 2 tags to oci://127\\.0\\.0\\.1:\\d+/weld/envs \\(\\d+ blobs, [\\d.]+ MiB sent; 0 tags there already\\)\\n$`));
    const image = /image (sha256:[0-9a-f]{64})/.exec(composed.stdout)![1]!;

    const taken = await weld(['env', 'compose', ENV, '--no-load', '--json'], { cwd: root, env: b });
    expect(taken.code, taken.stdout + taken.stderr).toBe(0);
    expect(taken.stderr).toBe('');
    const s = eventStream(taken.stdout);
    expect(s.events.map((e) => e.type)).toEqual(['phase', 'substituted']);
    expect(s.events[1]!.data).toMatchObject({ keyId: 'machine-a', manifest: image });
    expect(s.summary!.data).toMatchObject({ image, reused: false, substituted: { keyId: 'machine-a', remote: registry.url('weld/envs') } });
    // B pushes nothing back (the image came from there), and now composes nothing and asks nobody
    const again = await weld(['env', 'compose', ENV, '--no-load', '--store-remote', 'oci://127.0.0.1:1/nowhere'], { cwd: root, env: b });
    expect(again.stderr).toBe('');
    expect(again.stdout).toBe(`${ENV}: image ${image} (already in the store)\n`);
  }, 120_000);
});
