import { imageManifest, MEDIA } from '../../src/archive/oci.js';
import { tarChunks } from '../../src/archive/tar-write.js';
import { imageRecordId } from '../../src/envs/compose.js';
import { requireFreshLock } from '../../src/envs/fresh.js';
import { formatEnvLock } from '../../src/envs/lock-file.js';
import { imageConfig } from '../../src/envs/oci.js';
import type { Metadata } from '../../src/metadata/model.js';
import type { Store } from '../../src/store/store.js';

// A runtime env's image for compose tests, without composing Debian: one layer with a
// python3 stand-in, recorded in the store as `weld env compose` records the env's image.

/** A tiny runtime image (python3 stand-in, /usr/local) recorded as the runtime env's image for its lock. */
export async function writeRuntimeImage(metadata: Metadata, store: Store, envName: string): Promise<void> {
  const env = metadata.envs.get(envName)!;
  const lock = requireFreshLock(env);
  if (!lock.ok) throw lock.error;
  const must = <T>(r: { ok: true; value: T } | { ok: false; error: Error }): T => {
    if (!r.ok) throw r.error;
    return r.value;
  };
  const lockBlob = must(await store.put([Buffer.from(formatEnvLock({ env: env.name, lock: lock.value }))]));
  const layer = must(await store.put(tarChunks([
    { path: 'usr', type: 'dir', mode: 0o755 },
    { path: 'usr/bin', type: 'dir', mode: 0o755 },
    { path: 'usr/bin/python3', type: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\n') },
  ])));
  const config = imageConfig({ env: env.name, arch: env.arch, layers: [layer.digest], lock: lockBlob.digest });
  const configBlob = must(await store.put([config]));
  const manifest = imageManifest({ config: { mediaType: MEDIA.config, digest: configBlob.digest, size: config.length }, layers: [{ mediaType: MEDIA.layer, digest: layer.digest, size: layer.size }] });
  const manifestBlob = must(await store.put([manifest]));
  must(await store.writeRecords([{ kind: 'env', id: imageRecordId(env.name, lockBlob.digest), data: { env: env.name, arch: env.arch, lock: lockBlob.digest, manifest: manifestBlob.digest, config: configBlob.digest, layers: [layer.digest], createdAt: new Date().toISOString() } }]));
}

