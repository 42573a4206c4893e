import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { weld } from '../../helpers/project.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { buildRecord, freshStore, putText, tempDir } from '../../helpers/store-temp.js';

// The verbs: weld key generate / public, weld store push / pull / remote ls, on a real registry.

describe('weld key and weld store push | pull | remote ls', () => {
  let registry: TestRegistry;
  let tmp: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    registry = await startRegistry();
    tmp = await tempDir('weld-remote-cli-');
  });
  afterAll(async () => {
    await registry?.close();
    await tmp?.cleanup();
  });
  const env = (extra: NodeJS.ProcessEnv = {}) => ({ WELD_KEYS_DIR: path.join(tmp.dir, 'keys'), HOME: tmp.dir, WELD_STORE_REMOTE: registry.url('weld/cli'), WELD_TLS_VERIFY: 'false', ...extra });
  const cli = (argv: string[], extra: NodeJS.ProcessEnv = {}) => weld(argv, { cwd: tmp.dir, env: env(extra) });

  it('generates a key once, prints its public line, and refuses to overwrite it', async () => {
    const made = await cli(['key', 'generate', 'ci-1']);
    expect(made.stderr).toBe('');
    const line = made.stdout.split('\n')[0]!;
    expect(line).toMatch(/^ci-1:[A-Za-z0-9+/]{43}=$/);
    expect(statSync(path.join(tmp.dir, 'keys/ci-1.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(tmp.dir, 'keys/ci-1.pub'), 'utf8')).toBe(line + '\n');
    expect((await cli(['key', 'public'])).stdout).toBe(line + '\n');
    const again = await cli(['key', 'generate', 'ci-1']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('a key of that name exists already; it was left as it is');
    const bad = await cli(['key', 'generate', '../evil']);
    expect(bad.stderr).toContain('key name "../evil" must be 1–64 letters');
  });

  it('pushes a package\'s builds, lists them, and pulls them into another store', async () => {
    const a = await freshStore(path.join(tmp.dir, 'a'));
    const recs = [buildRecord({ pkg: 'alpha', outputs: [await putText(a, 'alpha wheel')] }), buildRecord({ pkg: 'beta', outputs: [await putText(a, 'beta wheel')] })];
    expect((await a.writeRecords(recs)).ok).toBe(true);
    const storeA = { WELD_STORE: a.path };
    const none = await cli(['store', 'push', 'alpha'], { ...storeA, WELD_STORE_REMOTE: '' });
    expect(none.stderr).toContain('weld store push: no store remote is configured');
    const unknown = await cli(['store', 'push', 'gamma'], storeA);
    expect(unknown.stderr).toContain('weld store push: no builds of gamma in the store');
    const pushed = await cli(['store', 'push', 'alpha'], storeA);
    expect(pushed.stderr).toBe('');
    expect(pushed.stdout).toMatch(/^pushed 1 tag to oci:\/\/127\.0\.0\.1:\d+\/weld\/cli \(2 blobs, [\d.]+ (B|KiB) sent; 0 blobs and 0 tags there already\)\n$/);
    const all = await cli(['store', 'push', '--all', '--json'], storeA);
    expect(JSON.parse(all.stdout)).toMatchObject({ pushed: [`build-${recs[1]!.id.slice(7)}`], present: [`build-${recs[0]!.id.slice(7)}`] });
    const ls = await cli(['store', 'remote', 'ls']);
    expect(ls.stdout.split('\n').filter(Boolean).sort()).toEqual([`build  alpha  build-${recs[0]!.id.slice(7)}`, `build  beta   build-${recs[1]!.id.slice(7)}`].sort());

    const pub = (await cli(['key', 'public'])).stdout.trim();
    const project = path.join(tmp.dir, 'proj');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(path.join(project, 'metadata'), { recursive: true });
    writeFileSync(path.join(project, 'metadata/weld.toml'), `[distro]\nname = "t"\narch = "s390x"\nenv = "bookworm-s390x"\n\n[store]\ntrusted_keys = ["${pub}"]\n`);
    const b = path.join(tmp.dir, 'b');
    const untrusted = await weld(['store', 'pull', '--all'], { cwd: tmp.dir, env: env({ WELD_STORE: b }) });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toContain('it is signed only by key "ci-1", not in trusted_keys; the record was refused');
    const pulled = await weld(['store', 'pull', 'beta'], { cwd: project, env: env({ WELD_STORE: b }) });
    expect(pulled.stderr).toBe('');
    expect(pulled.stdout).toMatch(new RegExp(`^pulled 1 record from ${registry.url('weld/cli').replace(/[./]/g, '\\$&')} \\(1 blob, 10 B; 0 here already\\)\\n$`));
    const again = await weld(['store', 'pull', '--all'], { cwd: project, env: env({ WELD_STORE: b }) });
    expect(again.stdout).toMatch(/^pulled 1 record from .* \(1 blob, 11 B; 1 here already\)\n$/);
    const records = await weld(['store', 'ls', '--records'], { cwd: project, env: { WELD_STORE: b } });
    expect(records.stdout).toContain(`from ${registry.url('weld/cli')} (ci-1)`);
  });
});

