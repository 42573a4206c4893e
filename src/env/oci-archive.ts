import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { err, ok, type Result } from '../core/result.js';
import type { BlobNotFoundError } from '../store/errors.js';
import type { Digest } from '../store/digest.js';
import type { EnvImageRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { LAYER_MTIME } from './layer.js';
import { imageIndex, MEDIA } from './oci.js';
import { padding, TAR_END, tarHeader } from './tar-write.js';

/** The blobs of an image: an env's record, or a composed image's. */
export type ImageBlobs = Pick<EnvImageRecord, 'manifest' | 'config' | 'layers'>;

/**
 * An image (an env's, or a compose's) as an oci-archive (oci-layout, index.json, blobs/sha256/…) streamed
 * straight from the store: what `podman load` reads, with no copy on disk.
 */
export async function ociArchive(opts: { store: Store; record: ImageBlobs; ref: string }): Promise<Result<Readable, BlobNotFoundError>> {
  const { store, record } = opts;
  const blobs: Array<{ digest: Digest; path: string; size: number }> = [];
  for (const d of [record.config, record.manifest, ...record.layers]) {
    const s = await store.stat(d);
    if (!s.ok) return err(s.error);
    blobs.push({ digest: d, path: s.value.path, size: s.value.size });
  }
  const manifestSize = blobs[1]!.size;
  const index = imageIndex({ manifest: { mediaType: MEDIA.manifest, digest: record.manifest, size: manifestSize }, ref: opts.ref });
  const layout = Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  async function* chunks(): AsyncGenerator<Buffer> {
    const small = (path: string, data: Buffer) => [tarHeader({ path, type: 'file', mode: 0o644, size: data.length, mtime: LAYER_MTIME }), data, padding(data.length)];
    yield* small('oci-layout', layout);
    yield* small('index.json', index);
    for (const dir of ['blobs', 'blobs/sha256']) yield tarHeader({ path: dir, type: 'dir', mode: 0o755, mtime: LAYER_MTIME });
    for (const b of blobs) {
      yield tarHeader({ path: `blobs/sha256/${b.digest.slice('sha256:'.length)}`, type: 'file', mode: 0o644, size: b.size, mtime: LAYER_MTIME });
      for await (const c of createReadStream(b.path, { highWaterMark: 1 << 20 })) yield c as Buffer;
      yield padding(b.size);
    }
    yield TAR_END;
  }
  return ok(Readable.from(chunks()));
}
