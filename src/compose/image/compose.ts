import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { WeldError } from '../../core/errors.js';
import { err, ok, type Result } from '../../core/result.js';
import { findComposed } from '../../envs/compose.js';
import type { EnvEvent } from '../../envs/events.js';
import { requireFreshLock } from '../../envs/fresh.js';
import { imageManifest, MEDIA, type Descriptor } from '../../archive/oci.js';
import { ociArchive } from '../../archive/oci-archive.js';
import { tarChunks } from '../../archive/tar-write.js';
import { hexOf, type Digest } from '../../store/digest.js';
import type { ComposeRecord } from '../../store/records.js';
import type { Store } from '../../store/store.js';
import { composedConfig } from './config.js';
import { metadataEpoch } from './epoch.js';
import { composePackages, findCompose, selectBuilds, type BuildsSource } from '../select.js';
import { wheelOutputs } from '../wheel/outputs.js';
import { ImageWriteError, RuntimeImageMissingError, WheelIncompatibleError } from './errors.js';
import type { ImageEvent, ImageListener } from './events.js';
import { emitterFor } from '../../core/events.js';
import { installWheel, mergeInstalls, type InstalledFile } from './install.js';
import { installLayerEntries } from './layer.js';
import { wheelManifest, type ManifestWheel } from './manifest.js';
import { debianScheme, glibcOfEnv, pythonOfEnv } from './scheme.js';
import { wheelRunsOn } from './tags.js';
import { openWheel } from './wheel.js';

export interface ComposeImageOptions extends BuildsSource {
  /** the compose, metadata/composes/<name>.toml; none: the metadata's only image compose */
  name?: string;
  /** where the oci-archive goes (written to a tmp file, then renamed) */
  out: string;
  onEvent?: ImageListener;
}

export interface ComposedImage {
  compose: string;
  /** weld/<name>:<first 12 hex of the manifest digest> */
  tag: string;
  manifest: Digest;
  config: Digest;
  /** every layer: the runtime env's, then the installed wheels */
  layers: Digest[];
  layer: { digest: Digest; size: number; files: number };
  /** the wheel manifest, named by the image's dev.weld.manifest label */
  wheelManifest: Digest;
  wheels: ManifestWheel[];
  revision: string | null;
  out: string;
  recordId: string;
}

/**
 * The store record id of a compose's image: the newest replaces the one before, so gc can
 * free it. Each target of a matrix has its own (`image/<name>@<target>`); `image/<name>` is then the index.
 */
export const imageComposeId = (name: string, target?: string) => (target ? `image/${name}@${target}` : `image/${name}`);

export function imageTag(opts: { compose: string; manifest: Digest }): string {
  return `weld/${opts.compose}:${hexOf(opts.manifest).slice(0, 12)}`;
}

/**
 * The runtime env's image with one more layer: the compose's wheels installed into its
 * Python the way an installer does it, no code run. Written as an oci-archive, its blobs
 * and a compose record (a gc root) put in the store. Same inputs, same digest.
 */
export async function composeImage(opts: ComposeImageOptions): Promise<Result<ComposedImage, WeldError>> {
  const { metadata, store } = opts;
  const found = findCompose({ metadata, name: opts.name, kind: 'image' });
  if (!found.ok) return found;
  const compose = found.value;
  const name = compose.name;
  const event = emitterFor<ImageEvent>({ subject: { kind: 'compose', name }, listener: opts.onEvent });
  const emit = (detail: string) => event('phase', { detail });
  const picked = composePackages({ metadata, compose });
  if (!picked.ok) return picked;
  const packages = picked.value.packages;
  if (picked.value.pulledIn.length) emit(`adding what the packages need at run time: ${picked.value.pulledIn.join(', ')}`);

  const envName = compose.env!;
  const env = metadata.envs.get(envName);
  if (!env) return err(new RuntimeImageMissingError(envName, 'it is not in the metadata'));
  // The runtime env's image from the store, else from the session's store remote (signed, by its lock).
  const remote = opts.session.o.remote ? new (await import('../../envs/substitute.js')).EnvSubstituter({ settings: opts.session.o.remote, store }) : undefined;
  const onEnvEvent = (e: EnvEvent) => {
    if (e.type === 'warning') opts.onWarning?.(e.data.message);
    else if (e.type === 'substituted') emit(`runtime env ${envName}: image ${e.data.manifest} substituted from ${e.data.remote} (signed by ${e.data.keyId}; ${e.data.blobs} blobs, ${(e.data.bytes / 2 ** 20).toFixed(1)} MiB)`);
  };
  const base = await findComposed({ env, store, ...(remote ? { remote, fallback: 'it is not taken from there', onEvent: onEnvEvent } : {}) });
  if (!base) {
    const fresh = requireFreshLock(env);
    return err(new RuntimeImageMissingError(envName, fresh.ok ? 'it was not composed from its lock as it is now' : fresh.error.message));
  }
  const python = pythonOfEnv(env);
  if (!python) return err(new RuntimeImageMissingError(envName, 'its lock has no python3.X package to install wheels into'));
  const scheme = debianScheme(python);
  const glibc = glibcOfEnv(env);

  emit(`finding the builds of ${packages.join(', ')}`);
  const builds = await selectBuilds({ ...opts, compose: name, packages });
  if (!builds.ok) return builds;

  const installs: InstalledFile[][] = [];
  const wheels: ManifestWheel[] = [];
  for (const [pkg, record] of builds.value) {
    const outputs = wheelOutputs(pkg, record);
    if (!outputs.ok) return outputs;
    for (const { output: o, name: wheelName } of outputs.value) {
      const blob = await store.stat(o.digest);
      if (!blob.ok) return blob;
      const wheel = await openWheel({ file: o.name, bytes: await readFile(blob.value.path) });
      if (!wheel.ok) return wheel;
      if (!wheelRunsOn({ name: wheelName, python, arch: env.arch, ...(glibc ? { glibc } : {}) })) {
        return err(new WheelIncompatibleError(o.name, `CPython ${python} on linux ${env.arch}${glibc ? ` with glibc ${glibc.join('.')}` : ''}`));
      }
      const files = installWheel({ wheel: wheel.value, scheme });
      if (!files.ok) return files;
      installs.push(files.value);
      wheels.push({ package: pkg, version: record.version, file: o.name, digest: o.digest, size: o.size, buildKey: record.cacheKey });
      event('installed', { package: pkg, file: o.name, files: files.value.length });
    }
  }
  const merged = mergeInstalls(installs);
  if (!merged.ok) return merged;

  const provenance = await metadata.provenance();
  const mtime = await metadataEpoch({ root: metadata.root, commit: provenance.commit });
  emit(`writing the layer (${merged.value.length} files)`);
  const layer = await store.put(tarChunks(installLayerEntries(merged.value), { mtime }), { label: `${name} image layer` });
  if (!layer.ok) return layer;
  const manifestBytes = wheelManifest({ compose: name, wheels });
  const manifestBlob = await store.put([manifestBytes], { label: `${name} wheel manifest` });
  if (!manifestBlob.ok) return manifestBlob;

  const baseConfig = await readBlob(store, base.record.config);
  if (!baseConfig.ok) return baseConfig;
  const baseManifest = await readBlob(store, base.record.manifest);
  if (!baseManifest.ok) return baseManifest;
  const config = composedConfig({
    base: baseConfig.value,
    layer: layer.value.digest,
    compose: name,
    env: envName,
    ...(compose.cmd ? { cmd: compose.cmd } : {}),
    revision: provenance.commit,
    dirty: provenance.dirty,
    manifest: manifestBlob.value.digest,
    mtime,
    wheels: wheels.length,
  });
  const configBlob = await store.put([config], { label: `${name} image config` });
  if (!configBlob.ok) return configBlob;
  const baseLayers = (JSON.parse(baseManifest.value.toString('utf8')) as { layers: Descriptor[] }).layers;
  const manifest = imageManifest({
    config: { mediaType: MEDIA.config, digest: configBlob.value.digest, size: config.length },
    layers: [...baseLayers, { mediaType: MEDIA.layer, digest: layer.value.digest, size: layer.value.size }],
  });
  const imageBlob = await store.put([manifest], { label: `${name} image manifest` });
  if (!imageBlob.ok) return imageBlob;
  const blobs = { manifest: imageBlob.value.digest, config: configBlob.value.digest, layers: [...baseLayers.map((l) => l.digest), layer.value.digest] };
  const tag = imageTag({ compose: name, manifest: blobs.manifest });

  emit(`writing ${opts.out}`);
  const written = await writeArchive({ store, blobs, tag, out: opts.out });
  if (!written.ok) return written;
  const record: ComposeRecord = { name, type: 'image', manifest: blobs.manifest, blobs: [blobs.config, ...blobs.layers, manifestBlob.value.digest], createdAt: new Date().toISOString() };
  const recorded = await store.writeRecords([{ kind: 'compose', id: imageComposeId(name, metadata.distro.viewOf), data: record }]);
  if (!recorded.ok) return recorded;
  return ok({
    compose: name,
    tag,
    ...blobs,
    layer: { digest: layer.value.digest, size: layer.value.size, files: merged.value.length },
    wheelManifest: manifestBlob.value.digest,
    wheels,
    revision: provenance.commit,
    out: opts.out,
    recordId: imageComposeId(name, metadata.distro.viewOf),
  });
}

async function readBlob(store: Store, digest: Digest): Promise<Result<Buffer, WeldError>> {
  const s = await store.stat(digest);
  if (!s.ok) return s;
  return ok(await readFile(s.value.path));
}

async function writeArchive(opts: { store: Store; blobs: { manifest: Digest; config: Digest; layers: Digest[] }; tag: string; out: string }): Promise<Result<void, WeldError>> {
  const archive = await ociArchive({ blobs: opts.store, image: opts.blobs, ref: opts.tag });
  if (!archive.ok) return archive;
  const tmp = path.join(path.dirname(opts.out), `.${path.basename(opts.out)}.${process.pid}.tmp`);
  try {
    await mkdir(path.dirname(opts.out), { recursive: true });
    await pipeline(archive.value, createWriteStream(tmp));
    await rename(tmp, opts.out);
    return ok(undefined);
  } catch (e: unknown) {
    await rm(tmp, { force: true });
    return err(new ImageWriteError(opts.out, e instanceof Error ? e.message : String(e)));
  }
}
