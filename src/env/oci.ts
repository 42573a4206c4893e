import { archInfo } from '../runner/podman/arch.js';
import type { Digest } from '../store/digest.js';
import { LAYER_MTIME } from './layer.js';

// The OCI image of an env: one uncompressed layer (compressing 300 MB would cost more
// than compose itself, and the store keeps it once), a config and a manifest, all as
// canonical JSON so the same lock gives the same digests everywhere.

export const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
  index: 'application/vnd.oci.image.index.v1+json',
} as const;

/** Bumped when the layer or config this code writes changes for the same lock. */
export const COMPOSER_VERSION = 1;

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
}

export function imageConfig(opts: { env: string; arch: string; layer: Digest; lock: Digest }): Buffer {
  const a = archInfo(opts.arch);
  const config = {
    architecture: a.oci,
    ...(a.variant ? { variant: a.variant } : {}),
    os: 'linux',
    created: new Date(LAYER_MTIME * 1000).toISOString(),
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8'],
      Cmd: ['/bin/bash'],
      WorkingDir: '/',
      Labels: { 'dev.weld.env': opts.env, 'dev.weld.lock': opts.lock, 'dev.weld.composer': String(COMPOSER_VERSION) },
    },
    rootfs: { type: 'layers', diff_ids: [opts.layer] },
  };
  return Buffer.from(JSON.stringify(config));
}

export function imageManifest(opts: { config: Descriptor; layers: Descriptor[] }): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.manifest, config: opts.config, layers: opts.layers }));
}

/** The index.json of an oci-archive: one manifest, named so `podman load` tags it. */
export function imageIndex(opts: { manifest: Descriptor; ref: string }): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.index, manifests: [{ ...opts.manifest, annotations: { 'org.opencontainers.image.ref.name': opts.ref } }] }));
}

/** What podman calls the image of an env: `weld-env/<env>:<first 12 hex of the manifest digest>`. */
export function imageTag(opts: { env: string; manifest: Digest }): string {
  return `weld-env/${opts.env}:${opts.manifest.slice('sha256:'.length, 'sha256:'.length + 12)}`;
}
