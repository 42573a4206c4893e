import { cpus } from 'node:os';
import { err, ok, type Result } from '../core/result.js';
import type { WeldError } from '../core/errors.js';
import type { Env } from '../metadata/model.js';
import { imageManifest, MEDIA } from '../archive/oci.js';
import type { Podman } from '../podman/podman.js';
import { loadImage } from '../podman/images.js';
import { digestBytes, type Digest } from '../store/digest.js';
import type { EnvImageRecord } from '../store/records.js';
import type { RecordInput } from '../store/index.js';
import type { Store } from '../store/store.js';
import { cacheRootRecord, emptyIndex, encodeIndex, loadCache } from './compose-cache.js';
import { composeLayers, type ComposeStats } from './compose-layers.js';
import { DebNotFetchedError } from './errors.js';
import type { EnvEvent, EnvListener } from './events.js';
import { emitterFor } from '../core/events.js';
import { requireFreshLock } from './fresh.js';
import { formatEnvLock } from './lock-file.js';
import { COMPOSER_VERSION, imageConfig, imageTag } from './oci.js';
import type { EnvSubstituter, EnvSubstitution } from './substitute.js';

export interface ComposeEnvOptions {
  env: Env;
  store: Store;
  /** compose again even when the store has an image of this lock */
  force?: boolean;
  /** debs decompressed at once (default: the number of CPUs) */
  concurrency?: number;
  /**
   * Use and update the compose cache (default true): debs' trees and layers of earlier
   * composes, so a lock that changes one deb decompresses only that one. Off, every
   * deb is read; the image is the same bytes either way.
   */
  cache?: boolean;
  /** the store remote: an image of this lock found there (signed by a trusted key) is taken, not composed */
  remote?: EnvSubstituter;
  onEvent?: EnvListener;
}

export interface ComposedImage {
  env: string;
  arch: string;
  tag: string;
  /** the store's id of the record (imageRecordId): what the store remote finds it by */
  recordId: string;
  record: EnvImageRecord;
  /** the store already had this image; nothing was composed */
  reused: boolean;
  /** what composing took from the cache (absent when the image was reused) */
  stats?: ComposeStats;
  /** it came from the store remote just now: nothing was fetched or composed */
  substituted?: EnvSubstitution;
}

/** The store record id of an env's image: one per lock and composer version. */
export const imageRecordId = (env: string, lock: Digest) => `${env}@${lock.slice('sha256:'.length)}/c${COMPOSER_VERSION}`;

/**
 * The env's locked debs (from the store, each re-hashed against the lock when read)
 * unpacked in memory and written as OCI layers (one per bucket of debs, see
 * splitLayers), then config and manifest; recorded in the store only when every blob is
 * in. The compose cache spares what an earlier compose already unpacked.
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
    if (known) return ok({ env: env.name, arch: env.arch, tag: imageTag({ env: env.name, manifest: known.manifest }), recordId: id, record: known, reused: true });
    const sub = await opts.remote?.substitute({ env, id, fallback: 'composing it here', ...(opts.onEvent ? { onEvent: opts.onEvent } : {}) });
    if (sub) return ok({ env: env.name, arch: env.arch, tag: imageTag({ env: env.name, manifest: sub.record.manifest }), recordId: id, record: sub.record, reused: false, substituted: sub.substitution });
  }
  const missing: string[] = [];
  for (const d of lock.debs) if (!(await store.has(`sha256:${d.sha256}`))) missing.push(d.path);
  if (missing.length) return err(new DebNotFetchedError(env.name, missing));

  const concurrency = opts.concurrency ?? Math.max(2, cpus().length);
  const cache = opts.cache === false ? { index: emptyIndex() } : await loadCache({ store, env: env.name });
  if (cache.problem) event('warning', { message: cache.problem });
  const layerEvents = {
    onWarning: (message: string) => event('warning', { message }),
    onPhase: emit,
    onRead: (done: number, total: number) => event('progress', { unit: 'debs', done, total }),
  };
  let built = await composeLayers({ store, debs: lock.debs, index: cache.index, concurrency, format: COMPOSER_VERSION, ...layerEvents });
  if (built.ok && 'cacheWrong' in built.value) {
    event('warning', { message: `${built.value.cacheWrong}; composing without the cache` });
    built = await composeLayers({ store, debs: lock.debs, index: emptyIndex(), concurrency, format: COMPOSER_VERSION, ...layerEvents });
  }
  if (!built.ok) return built;
  if ('cacheWrong' in built.value) throw new Error(`bug: an empty cache was wrong: ${built.value.cacheWrong}`);
  const { layers, stats } = built.value;
  const config = imageConfig({ env: env.name, arch: env.arch, layers: layers.map((l) => l.digest), lock: lockBlob.value.digest });
  const configBlob = await store.put([config], { label: `${env.name} image config` });
  if (!configBlob.ok) return configBlob;
  const manifest = imageManifest({
    config: { mediaType: MEDIA.config, digest: configBlob.value.digest, size: config.length },
    layers: layers.map((l) => ({ mediaType: MEDIA.layer, digest: l.digest, size: l.size })),
  });
  const manifestBlob = await store.put([manifest], { label: `${env.name} image manifest` });
  if (!manifestBlob.ok) return manifestBlob;
  const record: EnvImageRecord = {
    env: env.name,
    arch: env.arch,
    lock: lockBlob.value.digest,
    manifest: manifestBlob.value.digest,
    config: configBlob.value.digest,
    layers: layers.map((l) => l.digest),
    createdAt: new Date().toISOString(),
  };
  const records: RecordInput[] = [{ kind: 'env', id, data: record }];
  if (opts.cache !== false) {
    const indexBlob = await store.put([encodeIndex(built.value.index)], { label: `${env.name} compose cache` });
    if (!indexBlob.ok) return indexBlob;
    records.push(cacheRootRecord({ env: env.name, index: built.value.index, indexDigest: indexBlob.value.digest }));
  }
  // one batch: the image and the cache that made it are recorded together or not at all
  const written = await store.writeRecords(records);
  if (!written.ok) return written;
  return ok({ env: env.name, arch: env.arch, tag: imageTag({ env: env.name, manifest: record.manifest }), recordId: id, record, reused: false, stats });
}

/**
 * The image the store has for the env's current lock, if compose made one; else, with a
 * store remote, the one found there (pulled into the store, see substitute.ts). A refused
 * one or a remote that is down is a warning event ending in `fallback`, and undefined.
 */
export async function findComposed(opts: { env: Env; store: Store; remote?: EnvSubstituter; fallback?: string; onEvent?: EnvListener }): Promise<ComposedImage | undefined> {
  const fresh = requireFreshLock(opts.env);
  if (!fresh.ok) return undefined;
  const lock = digestBytes(formatEnvLock({ env: opts.env.name, lock: fresh.value }));
  const id = imageRecordId(opts.env.name, lock);
  const at = (record: EnvImageRecord) => ({ env: opts.env.name, arch: opts.env.arch, tag: imageTag({ env: opts.env.name, manifest: record.manifest }), recordId: id, record });
  const rec = await reusable({ store: opts.store, id });
  if (rec) return { ...at(rec), reused: true };
  const sub = await opts.remote?.substitute({ env: opts.env, id, fallback: opts.fallback ?? 'it is not taken from there', ...(opts.onEvent ? { onEvent: opts.onEvent } : {}) });
  return sub && { ...at(sub.record), reused: false, substituted: sub.substitution };
}

async function reusable(opts: { store: Store; id: string }): Promise<EnvImageRecord | undefined> {
  const r = await opts.store.getRecord('env', opts.id);
  if (!r.ok || !r.value || r.value.broken) return undefined;
  const rec = r.value.data;
  for (const d of [rec.manifest, rec.config, ...rec.layers]) if (!(await opts.store.has(d))) return undefined;
  return rec;
}

/** Loads a composed env image into podman under its tag, unless podman has it already. */
export function loadEnvImage(opts: { image: ComposedImage; store: Store; podman: Podman }): Promise<Result<{ tag: string; loaded: boolean }, WeldError>> {
  return loadImage({ tag: opts.image.tag, image: opts.image.record, blobs: opts.store, podman: opts.podman });
}
