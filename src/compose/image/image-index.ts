import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { WeldError } from '../../core/errors.js';
import { err, ok, type Result } from '../../core/result.js';
import { layoutArchive } from '../../archive/oci-archive.js';
import { MEDIA } from '../../archive/oci.js';
import type { Target } from '../../metadata/model.js';
import { archInfo } from '../../podman/arch.js';
import type { ComposeRecord } from '../../store/records.js';
import type { Store } from '../../store/store.js';
import { ImageWriteError } from './errors.js';
import { imageComposeId, imageTag, type ComposedImage } from './compose.js';

// An image compose of a distro with several targets makes one image per target and an
// OCI image index over them: `podman run --arch X` picks the image of arch X from it, and
// `podman manifest inspect` lists them. Each entry carries its platform and the target's
// name (dev.weld.target). Two targets of one arch (two Pythons, say) are both listed; a
// platform match takes the first, in weld.toml's order, and the other is run by its own tag.

export interface ComposedIndex {
  compose: string;
  /** weld/<name>:<first 12 hex of the index digest> */
  tag: string;
  index:`sha256:${string}`;
  images: Array<{ target: string; arch: string; tag: string; manifest: string }>;
  out: string;
  recordId: string;
}

export async function composeImageIndex(o: { store: Store; name: string; images: Array<{ target: Target; image: ComposedImage }>; out: string }): Promise<Result<ComposedIndex, WeldError>> {
  const manifests = [];
  for (const { target, image } of o.images) {
    const s = await o.store.stat(image.manifest);
    if (!s.ok) return s;
    const a = archInfo(target.arch);
    manifests.push({ mediaType: MEDIA.manifest, digest: image.manifest, size: s.value.size, platform: { architecture: a.oci, os: 'linux', ...(a.variant ? { variant: a.variant } : {}) }, annotations: { 'dev.weld.target': target.name } });
  }
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.index, manifests }));
  const put = await o.store.put([bytes], { label: `${o.name} image index` });
  if (!put.ok) return put;
  const index = put.value.digest;
  const tag = imageTag({ compose: o.name, manifest: index });
  const digests = [index, ...o.images.flatMap(({ image }) => [image.manifest, image.config, ...image.layers])];
  const archive = await layoutArchive({ blobs: o.store, top: { mediaType: MEDIA.index, digest: index }, ref: tag, digests });
  if (!archive.ok) return archive;
  const tmp = path.join(path.dirname(o.out), `.${path.basename(o.out)}.${process.pid}.tmp`);
  try {
    await mkdir(path.dirname(o.out), { recursive: true });
    await pipeline(archive.value, createWriteStream(tmp));
    await rename(tmp, o.out);
  } catch (e: unknown) {
    await rm(tmp, { force: true });
    return err(new ImageWriteError(o.out, e instanceof Error ? e.message : String(e)));
  }
  // The index keeps every target's image alive through gc, as each image's own record does.
  const record: ComposeRecord = { name: o.name, type: 'image', manifest: index, blobs: digests.slice(1), createdAt: new Date().toISOString() };
  const recordId = imageComposeId(o.name);
  const recorded = await o.store.writeRecords([{ kind: 'compose', id: recordId, data: record }]);
  if (!recorded.ok) return recorded;
  return ok({ compose: o.name, tag, index, images: o.images.map(({ target, image }) => ({ target: target.name, arch: target.arch, tag: image.tag, manifest: image.manifest })), out: o.out, recordId });
}
