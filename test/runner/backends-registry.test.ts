import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendPool } from '../../src/runner/backends/pool.js';
import { PoolRunner } from '../../src/runner/backends/pool-runner.js';
import type { RunSpec } from '../../src/runner/runner.js';
import { hostArch } from '../../src/podman/arch.js';
import { resolveRemote, type RemoteSettings } from '../../src/store/remote/config.js';
import { envRecordTag, envTag } from '../../src/store/remote/layout.js';
import { generateKey } from '../../src/store/remote/keys.js';
import { hostContainersConf, podmanService, tinyProject, type PodmanService, type TinyProject } from '../helpers/podman-services.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/store-temp.js';

// Backends and a store remote: the env image goes up to the registry once and each engine
// pulls it by digest from there (not sent through the engine's API from this host); with
// the registry down, the build still runs, the image sent through the API as without one.
// A real docker-registry, real `podman system service` engines, a real composed env image.

let dir: string;
let cleanup: () => Promise<void>;
let project: TinyProject;
let env: NodeJS.ProcessEnv;
let registry: TestRegistry;
let settings: RemoteSettings;
const engines: PodmanService[] = [];
const arch = hostArch();

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('weld-backends-registry-'));
  project = await tinyProject(dir);
  env = hostContainersConf(project.root);
  registry = await startRegistry();
  // with a signing key, the env image's record goes up beside it (found by its lock elsewhere)
  const key = await generateKey({ dir: path.join(dir, 'keys'), name: 'backends-host' });
  if (!key.ok) throw key.error;
  const r = await resolveRemote({ env: { ...env, WELD_KEYS_DIR: path.join(dir, 'no-keys'), WELD_SIGNING_KEY: key.value.secretFile }, flags: { storeRemote: registry.url('weld/cache'), tlsVerify: false } });
  if (!r.ok || !r.value) throw new Error(`no remote: ${r.ok ? 'none' : r.error.message}`);
  settings = r.value;
}, 120_000);

afterAll(async () => {
  await Promise.all(engines.map((e) => e.stop()));
  await registry?.close();
  await cleanup();
}, 120_000);

async function engine(name: string): Promise<PodmanService> {
  const e = await podmanService({ dir, name, env });
  engines.push(e);
  return e;
}

function runnerOn(e: PodmanService): PoolRunner {
  return new PoolRunner({ pool: new BackendPool({ backends: [{ name: e.name, url: e.url, arch, labels: {}, maxJobs: 2 }] }), context: { metadata: project.metadata, store: project.store, env, registry: settings } });
}

async function run(runner: PoolRunner, extra: Partial<RunSpec> = {}) {
  const work = mkdtempSync(path.join(dir, 'run-'));
  const [src, out, recipes] = ['src', 'out', 'recipe'].map((d) => path.join(work, d)) as [string, string, string];
  for (const d of [src, out, recipes]) mkdirSync(d);
  writeFileSync(path.join(src, 'hello.txt'), 'hello\n');
  const recipe = path.join(recipes, 'build.sh');
  writeFileSync(recipe, 'set -e\nmkdir -p "$WELD_OUT/wheels"\nsha256sum "$WELD_SRC/hello.txt" > "$WELD_OUT/wheels/demo-1.0-py3-none-any.whl"\necho built\n');
  const lines: string[] = [];
  const result = await runner.run({ envName: project.env, recipe, srcDir: src, outDir: out, depDirs: [], env: { WELD_PACKAGE: 'demo', WELD_VERSION: '1.0', SOURCE_DATE_EPOCH: '1700000000' }, jobs: 1, onLog: (l) => lines.push(l), ...extra });
  return { result, lines, wheel: () => readFileSync(path.join(out, 'wheels/demo-1.0-py3-none-any.whl'), 'utf8') };
}

/** Where the engine's copy of the env image came from: its repo digests (a pulled image has the registry's; a loaded one none of it). */
function repoDigests(e: PodmanService): string[] {
  const r = spawnSync('podman', ['--url', e.url, 'image', 'inspect', project.image.tag, '--format', '{{json .RepoDigests}}'], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`podman image inspect ${project.image.tag} on ${e.name}: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}

describe('build backends with a store remote', () => {
  it('push the env image to the registry once, and each engine pulls it by digest from there', async () => {
    const [x, y] = [await engine('x'), await engine('y')];
    const manifest = project.image.record.manifest;
    const tag = envTag(project.image.env, manifest);
    const onX = await run(runnerOn(x));
    expect(onX.result.ok, JSON.stringify(onX.result)).toBe(true);
    expect(onX.lines).toEqual(['built']);
    // on the registry under its env tag, the manifest the store composed
    const tags = (await (await fetch(`http://${registry.host}/v2/weld/cache/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toContain(tag);
    expect(tags.tags).toContain(envRecordTag(project.image.recordId));
    const head = await fetch(`http://${registry.host}/v2/weld/cache/manifests/${tag}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(head.headers.get('docker-content-digest')).toBe(manifest);
    // the engine pulled it from the registry (its repository is the registry's), and runs name it by the env's own tag
    // the engine pulled it from the registry by that digest, and runs name it by the env's own tag
    const pulled = `${registry.host}/weld/cache@${manifest}`;
    expect(repoDigests(x)).toContain(pulled);

    // a second engine pulls the same image by digest too; the same bytes come out
    const onY = await run(runnerOn(y));
    expect(onY.result.ok, JSON.stringify(onY.result)).toBe(true);
    expect(repoDigests(y)).toContain(pulled);
    expect(onY.wheel()).toBe(onX.wheel());
  }, 180_000);

  it('with the registry down, the build still runs: the engine is sent the image through its API, and the log says why', async () => {
    const z = await engine('z');
    await registry.kill();
    try {
      const r = await run(runnerOn(z));
      expect(r.result.ok, JSON.stringify(r.result)).toBe(true);
      expect(r.lines[0]).toMatch(new RegExp(`^weld: env image ${project.image.tag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not on the store remote \\(.+\\); the backend is sent it through its API$`));
      expect(r.lines.at(-1)).toBe('built');
      expect(repoDigests(z).some((d) => d.startsWith(`${registry.host}/`))).toBe(false);
    } finally {
      await registry.restart();
    }
  }, 180_000);
});
