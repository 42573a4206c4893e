import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { digestBytes, type Digest } from '../../src/store/digest.js';
import type { RecordInput } from '../../src/store/index.js';
import type { BuildRecord } from '../../src/store/records.js';
import { openStore, type OpenStoreOptions, type Store } from '../../src/store/store.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A fresh directory under the OS tmp dir; `cleanup` removes it. */
export async function tempDir(prefix = 'weld-store-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function freshStore(dir: string, opts: Partial<OpenStoreOptions> = {}): Promise<Store> {
  const r = await openStore({ path: path.join(dir, 'store'), ...opts });
  if (!r.ok) throw r.error;
  return r.value;
}

export async function putText(store: Store, text: string): Promise<Digest> {
  const r = await store.put([Buffer.from(text)]);
  if (!r.ok) throw r.error;
  return r.value.digest;
}

/** A build record naming `outputs` (and nothing else that must exist). */
export function buildRecord(opts: { pkg: string; outputs: Digest[]; salt?: string }): RecordInput {
  const cacheKey = digestBytes(`${opts.pkg}/${opts.salt ?? ''}/${opts.outputs.join(',')}`);
  const data: BuildRecord = {
    cacheKey,
    package: opts.pkg,
    version: '1.0',
    release: 1,
    arch: 's390x',
    envImage: opts.outputs[0]!,
    sourceTree: '4b825dc642cb6eb9a060e54bf8d69288fbee4904',
    recipe: { name: 'python-wheel', digest: opts.outputs[0]! },
    dependencies: {},
    outputs: opts.outputs.map((digest, i) => ({ name: `out-${i}`, digest, size: 0 })),
    log: null,
    timings: { startedAt: '2024-01-01T00:00:00Z', finishedAt: '2024-01-01T00:00:01Z', durationMs: 1000 },
    runner: 'local',
    weldVersion: '0.1.0',
    provenance: null,
  };
  return { kind: 'build', id: cacheKey, data };
}

/** Child scripts import the compiled store; `npm test` compiles before vitest runs. */
export function requireCompiled(): void {
  if (!existsSync(path.join(REPO, 'dist/src/store/store.js'))) {
    throw new Error('dist/src/store/store.js is missing: run `npx tsc -p tsconfig.json` (npm test does) before these tests');
  }
}

export const CHILD = path.join(REPO, 'test/helpers/store-child.mjs');
