import type { Digest } from '../store/digest.js';

// OCI image layout pieces every image weld writes shares (env images, composed images):
// media types, descriptors, the manifest and the index, as canonical JSON so the same
// blobs give the same digests everywhere.

export const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  /** uncompressed: compressing a 300 MB env layer would cost more than composing it, and the store keeps it once */
  layer: 'application/vnd.oci.image.layer.v1.tar',
  index: 'application/vnd.oci.image.index.v1+json',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
}

/** The blobs of one image. */
export interface ImageBlobs {
  manifest: Digest;
  config: Digest;
  layers: Digest[];
}

export function imageManifest(opts: { config: Descriptor; layers: Descriptor[] }): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.manifest, config: opts.config, layers: opts.layers }));
}

/** The index.json of an oci-archive: one manifest, named so `podman load` tags it. */
export function imageIndex(opts: { manifest: Descriptor; ref: string }): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.index, manifests: [{ ...opts.manifest, annotations: { 'org.opencontainers.image.ref.name': opts.ref } }] }));
}
