import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { err, ok, type Result } from '../core/result.js';
import type { Digest } from '../store/digest.js';
import { imageIndex, MEDIA, type ImageBlobs } from './oci.js';
import { FIXED_MTIME, padding, TAR_END, tarHeader } from './tar-write.js';

/** Where blobs are read from (the store): a file and its size per digest. */
export interface BlobFiles<E> {
  stat(digest: Digest): Promise<Result<{ path: string; size: number }, E>>;
}

/**
 * An image (an env's, or a compose's) as an oci-archive (oci-layout, index.json, blobs/sha256/…) streamed
 * straight from the blob files: what `podman load` reads, with no copy on disk.
 */
export async function ociArchive<E>(opts: { blobs: BlobFiles<E>; image: ImageBlobs; ref: string }): Promise<Result<Readable, E>> {
  const { image } = opts;
  return layoutArchive({ blobs: opts.blobs, top: { mediaType: MEDIA.manifest, digest: image.manifest }, ref: opts.ref, digests: [image.config, image.manifest, ...image.layers] });
}

/**
 * An oci-archive whose index.json names `top` (an image manifest, or an image index of
 * several) under `ref`, holding every blob of `digests` once.
 */
export async function layoutArchive<E>(opts: { blobs: BlobFiles<E>; top: { mediaType: string; digest: Digest }; ref: string; digests: readonly Digest[] }): Promise<Result<Readable, E>> {
  const blobs: Array<{ digest: Digest; path: string; size: number }> = [];
  for (const d of new Set(opts.digests)) {
    const s = await opts.blobs.stat(d);
    if (!s.ok) return err(s.error);
    blobs.push({ digest: d, path: s.value.path, size: s.value.size });
  }
  const topSize = blobs.find((b) => b.digest === opts.top.digest)?.size;
  if (topSize === undefined) throw new Error('bug: an oci-archive without its top manifest among its blobs');
  const index = imageIndex({ manifest: { mediaType: opts.top.mediaType, digest: opts.top.digest, size: topSize }, ref: opts.ref });
  const layout = Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  async function* chunks(): AsyncGenerator<Buffer> {
    const small = (path: string, data: Buffer) => [tarHeader({ path, type: 'file', mode: 0o644, size: data.length, mtime: FIXED_MTIME }), data, padding(data.length)];
    yield* small('oci-layout', layout);
    yield* small('index.json', index);
    for (const dir of ['blobs', 'blobs/sha256']) yield tarHeader({ path: dir, type: 'dir', mode: 0o755, mtime: FIXED_MTIME });
    for (const b of blobs) {
      yield tarHeader({ path: `blobs/sha256/${b.digest.slice('sha256:'.length)}`, type: 'file', mode: 0o644, size: b.size, mtime: FIXED_MTIME });
      for await (const c of createReadStream(b.path, { highWaterMark: 1 << 20 })) yield c as Buffer;
      yield padding(b.size);
    }
    yield TAR_END;
  }
  return ok(Readable.from(chunks()));
}
