import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey, type SigningKey } from '../../../src/store/remote/keys.js';
import { buildProject, type BuildProject, type FixturePackage } from '../../helpers/build-project.js';
import { REPO_ROOT, weld } from '../../helpers/project.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { tempDir } from '../../helpers/store-temp.js';

// Two machines: two checkouts of one distro, each with its own store, sharing a registry.
// A builds and pushes (push = true); B builds the same and builds nothing: every package
// is substituted, the one whose key needs its dependency's outputs too.

const PACKAGES: FixturePackage[] = [
  { name: 'weldhello', files: { dir: path.join(REPO_ROOT, 'test/fixtures/weldhello') } },
  { name: 'weldafter', requires: ['weldhello'], files: { dir: path.join(REPO_ROOT, 'test/fixtures/weldhello') } },
];

describe('a second machine substitutes what the first pushed', () => {
  let registry: TestRegistry;
  let a: BuildProject;
  let b: BuildProject;
  let keys: { dir: string; cleanup: () => Promise<void> };
  let key: SigningKey;
  beforeAll(async () => {
    registry = await startRegistry();
    keys = await tempDir('weld-keys-');
    const k = await generateKey({ dir: keys.dir, name: 'machine-a' });
    if (!k.ok) throw k.error;
    key = k.value;
    [a, b] = await Promise.all([buildProject({ packages: PACKAGES }), buildProject({ packages: PACKAGES })]);
    const store = `\n[store]\nremote = "${registry.url('weld/second')}"\ntls_verify = false\ntrusted_keys = ["${key.publicLine}"]\n`;
    appendFileSync(path.join(a.root, 'metadata/weld.toml'), store + 'push = true\n');
    appendFileSync(path.join(b.root, 'metadata/weld.toml'), store);
  }, 120_000);
  afterAll(async () => {
    a?.cleanup();
    b?.cleanup();
    await registry?.close();
    await keys?.cleanup();
  });

  const cli = (p: BuildProject, argv: string[], env: NodeJS.ProcessEnv = {}) =>
    weld(argv, { cwd: p.root, env: { WELD_STORE: path.join(p.root, 'store'), WELD_RUNNER: 'local', WELD_KEYS_DIR: path.join(p.root, 'no-keys'), ...env } });

  it('A builds and pushes; B builds nothing, and says where each package came from', async () => {
    const first = await cli(a, ['build', 'weldafter'], { WELD_SIGNING_KEY: key.secretFile });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^pushed 2 records to oci:\/\/127\.0\.0\.1:\d+\/weld\/second \(\d+ blobs, [\d.]+ KiB sent\)$/m);
    expect(first.stdout).toMatch(/^2 packages built, 0 cached, 0 tested, 0 failed, 0 skipped$/m);

    const second = await cli(b, ['build', 'weldafter']);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^weldhello: substituted weldhello-1\.0-py3-none-any\.whl from oci:\/\/127\.0\.0\.1:\d+\/weld\/second \(signed by machine-a; \d+ blobs?, [\d.]+ K?i?B\)$/m);
    expect(second.stdout).toMatch(/^weldafter: substituted weldhello-1\.0-py3-none-any\.whl from .* \(signed by machine-a; /m);
    expect(second.stdout).not.toContain('building');
    expect(second.stdout).toMatch(/^0 packages built, 0 cached, 2 substituted, 0 tested, 0 failed, 0 skipped$/m);
    // now local: a third run asks nobody
    const third = await cli(b, ['build', 'weldafter', '--store-remote', 'oci://127.0.0.1:1/nowhere']);
    expect(third.stdout).toMatch(/^0 packages built, 2 cached, 0 tested, 0 failed, 0 skipped$/m);
    expect(third.stderr).toBe('');
    const json = await cli(b, ['store', 'ls', '--records', '--json']);
    const records = JSON.parse(json.stdout) as Array<{ kind: string; origin?: { remote: string; keyId: string } }>;
    const builds = records.filter((r) => r.kind === 'build');
    expect(builds).toHaveLength(2);
    for (const r of builds) expect(r.origin).toMatchObject({ remote: registry.url('weld/second'), keyId: 'machine-a' });
  }, 120_000);

  it('with the registry down, B warns and builds locally', async () => {
    const down = await cli(b, ['build', 'weldhello', '--store-remote', 'oci://127.0.0.1:1/down'], { WELD_STORE: path.join(b.root, 'store-fresh') });
    expect(down.code).toBe(0);
    expect(down.stderr).toMatch(/^weld: warning: store remote oci:\/\/127\.0\.0\.1:1\/down: GET \/v2\/ failed: .*ECONNREFUSED.*; building locally without it/m);
    expect(down.stdout).toMatch(/^1 package built, 0 cached, 0 tested, 0 failed, 0 skipped$/m);
  }, 120_000);

  it('B refuses what a key it does not trust signed, names the key, and builds it itself', async () => {
    const stranger = await generateKey({ dir: keys.dir, name: 'someone-else' });
    if (!stranger.ok) throw stranger.error;
    const file = path.join(b.root, 'metadata/weld.toml');
    const before = readFileSync(file, 'utf8');
    writeFileSync(file, before.replace(key.publicLine, stranger.value.publicLine));
    try {
      const r = await cli(b, ['build', 'weldhello'], { WELD_STORE: path.join(b.root, 'store-untrusting') });
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^weld: warning: store remote oci:\/\/127\.0\.0\.1:\d+\/weld\/second: build-[0-9a-f]{64}: it is signed only by key "machine-a", not in trusted_keys; the record was refused; it will be built here$/m);
      expect(r.stdout).toMatch(/^1 package built, 0 cached, 0 tested, 0 failed, 0 skipped$/m);
    } finally {
      writeFileSync(file, before);
    }
  }, 120_000);
});
