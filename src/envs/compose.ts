import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pLimit from 'p-limit';
import { cpus } from 'node:os';
import { err, ok, type Result } from '../core/result.js';
import type { WeldError } from '../core/errors.js';
import type { Env, LockedDeb } from '../metadata/model.js';
import { imageManifest, MEDIA } from '../archive/oci.js';
import { tarChunks } from '../archive/tar-write.js';
import type { Podman } from '../podman/podman.js';
import { loadImage } from '../podman/images.js';
import { digestBytes, type Digest } from '../store/digest.js';
import type { EnvImageRecord } from '../store/records.js';
import { tmpName } from '../store/layout.js';
import type { Store } from '../store/store.js';
import { readDeb, type DebEntry } from './deb.js';
import { DebDigestMismatchError, DebNotFetchedError } from './errors.js';
import type { EnvEvent, EnvListener } from './events.js';
import { emitterFor } from '../core/events.js';
import { requireFreshLock } from './fresh.js';
import { planLayer } from './layer.js';
import { formatEnvLock } from './lock-file.js';
import { COMPOSER_VERSION, imageConfig, imageTag } from './oci.js';

export interface ComposeEnvOptions {
  env: Env;
  store: Store;
  /** compose again even when the store has an image of this lock */
  force?: boolean;
  /** debs decompressed at once (default: the number of CPUs) */
  concurrency?: number;
  onEvent?: EnvListener;
}

export interface ComposedImage {
  env: string;
  arch: string;
  tag: string;
  record: EnvImageRecord;
  /** the store already had this image; nothing was composed */
  reused: boolean;
}

/** The store record id of an env's image: one per lock and composer version. */
export const imageRecordId = (env: string, lock: Digest) => `${env}@${lock.slice('sha256:'.length)}/c${COMPOSER_VERSION}`;

/**
 * The env's locked debs (from the store, each re-hashed against the lock) unpacked in
 * memory and streamed into one OCI layer, then config and manifest; recorded in the
 * store only when every blob is in.
 */
export async function composeEnv(opts: ComposeEnvOptions): Promise<Result<ComposedImage, WeldError>> {
  const { env, store } = opts;
  const event = emitterFor<EnvEvent>({ subject: { kind: 'env', name: env.name }, listener: opts.onEvent });
  const emit = (detail: string) => event('phase', { detail });
  const fresh = requireFreshLock(env);
  if (!fresh.ok) return fresh;
  const lock = fresh.value;
  const lockBlob = await store.put([Buffer.from(formatEnvLock({ env: env.name, lock }))], { label: `${env.name}.lock.toml` });
  if (!lockBlob.ok) return lockBlob;
  const id = imageRecordId(env.name, lockBlob.value.digest);
  if (!opts.force) {
    const known = await reusable({ store, id });
    if (known) return ok({ env: env.name, arch: env.arch, tag: imageTag({ env: env.name, manifest: known.manifest }), record: known, reused: true });
  }
  const missing: string[] = [];
  for (const d of lock.debs) if (!(await store.has(`sha256:${d.sha256}`))) missing.push(d.path);
  if (missing.length) return err(new DebNotFetchedError(env.name, missing));

  emit(`unpacking ${lock.debs.length} debs`);
  const read = await readAll({ store, debs: lock.debs, concurrency: opts.concurrency ?? Math.max(2, cpus().length), onDone: (done) => event('progress', { unit: 'debs', done, total: lock.debs.length }) });
  if (!read.ok) return read;
  const plan = planLayer({ debs: read.value });
  for (const message of plan.warnings) event('warning', { message });

  emit(`writing the layer (${plan.entries.length} entries)`);
  const layer = await store.put(tarChunks(plan.entries), { label: `${env.name} layer` });
  if (!layer.ok) return layer;
  const config = imageConfig({ env: env.name, arch: env.arch, layer: layer.value.digest, lock: lockBlob.value.digest });
  const configBlob = await store.put([config], { label: `${env.name} image config` });
  if (!configBlob.ok) return configBlob;
  const manifest = imageManifest({
    config: { mediaType: MEDIA.config, digest: configBlob.value.digest, size: config.length },
    layers: [{ mediaType: MEDIA.layer, digest: layer.value.digest, size: layer.value.size }],
  });
  const manifestBlob = await store.put([manifest], { label: `${env.name} image manifest` });
  if (!manifestBlob.ok) return manifestBlob;
  const record: EnvImageRecord = {
    env: env.name,
    arch: env.arch,
    lock: lockBlob.value.digest,
    manifest: manifestBlob.value.digest,
    config: configBlob.value.digest,
    layers: [layer.value.digest],
    createdAt: new Date().toISOString(),
  };
  const written = await store.writeRecords([{ kind: 'env', id, data: record }]);
  if (!written.ok) return written;
  return ok({ env: env.name, arch: env.arch, tag: imageTag({ env: env.name, manifest: record.manifest }), record, reused: false });
}

/** The image the store has for the env's current lock, if compose made one. */
export async function findComposed(opts: { env: Env; store: Store }): Promise<ComposedImage | undefined> {
  const fresh = requireFreshLock(opts.env);
  if (!fresh.ok) return undefined;
  const lock = digestBytes(formatEnvLock({ env: opts.env.name, lock: fresh.value }));
  const rec = await reusable({ store: opts.store, id: imageRecordId(opts.env.name, lock) });
  return rec && { env: opts.env.name, arch: opts.env.arch, tag: imageTag({ env: opts.env.name, manifest: rec.manifest }), record: rec, reused: true };
}

async function reusable(opts: { store: Store; id: string }): Promise<EnvImageRecord | undefined> {
  const r = await opts.store.getRecord('env', opts.id);
  if (!r.ok || !r.value || r.value.broken) return undefined;
  const rec = r.value.data;
  for (const d of [rec.manifest, rec.config, ...rec.layers]) if (!(await opts.store.has(d))) return undefined;
  return rec;
}

/** Reads the debs in lock order, a few at a time (decompression runs in child processes). */
async function readAll(opts: { store: Store; debs: LockedDeb[]; concurrency: number; onDone: (n: number) => void }): Promise<Result<Array<{ deb: string; entries: DebEntry[] }>, WeldError>> {
  const limit = pLimit(opts.concurrency);
  let done = 0;
  const results = await Promise.all(
    opts.debs.map((d) =>
      limit(async (): Promise<Result<{ deb: string; entries: DebEntry[] }, WeldError>> => {
        const stat = await opts.store.stat(`sha256:${d.sha256}`);
        if (!stat.ok) return stat;
        const bytes = await readFile(stat.value.path);
        const actual = createHash('sha256').update(bytes).digest('hex');
        if (actual !== d.sha256) return err(new DebDigestMismatchError(d.path, d.sha256, actual));
        const entries = await readDeb({ name: d.path, bytes, scratch: tmpName(opts.store.layout, 'deb-data') });
        if (!entries.ok) return entries;
        opts.onDone(++done);
        return ok({ deb: `${d.name}_${d.version}_${d.arch}`, entries: entries.value });
      }),
    ),
  );
  const failed = results.find((r) => !r.ok);
  if (failed && !failed.ok) return err(failed.error);
  return ok(results.map((r) => (r as { ok: true; value: { deb: string; entries: DebEntry[] } }).value));
}

/** Loads a composed env image into podman under its tag, unless podman has it already. */
export function loadEnvImage(opts: { image: ComposedImage; store: Store; podman: Podman }): Promise<Result<{ tag: string; loaded: boolean }, WeldError>> {
  return loadImage({ tag: opts.image.tag, image: opts.image.record, blobs: opts.store, podman: opts.podman });
}
