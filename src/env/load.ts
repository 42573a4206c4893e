import { err, ok, type Result } from '../core/result.js';
import type { WeldError } from '../core/errors.js';
import type { Podman } from '../runner/podman/podman.js';
import { PodmanFailedError } from '../runner/podman/errors.js';
import type { Store } from '../store/store.js';
import type { ComposedImage } from './compose.js';
import { ociArchive, type ImageBlobs } from './oci-archive.js';

/** Loads a composed env image into podman under its tag, unless podman has it already. */
export function loadEnvImage(opts: { image: ComposedImage; store: Store; podman: Podman }): Promise<Result<{ tag: string; loaded: boolean }, WeldError>> {
  return loadImage({ tag: opts.image.tag, blobs: opts.image.record, store: opts.store, podman: opts.podman });
}

/** Loads an image whose blobs are in the store into podman as `tag`, unless podman has it already. */
export async function loadImage(opts: { tag: string; blobs: ImageBlobs; store: Store; podman: Podman }): Promise<Result<{ tag: string; loaded: boolean }, WeldError>> {
  const { podman, tag } = opts;
  if (await podman.imageExists(tag)) return ok({ tag, loaded: false });
  const archive = await ociArchive({ store: opts.store, record: opts.blobs, ref: tag });
  if (!archive.ok) return archive;
  const loaded = await podman.load({ archive: archive.value });
  if (!loaded.ok) return loaded;
  // podman names an oci-archive's image after its ref.name annotation; make sure
  if (!(await podman.imageExists(tag))) return err(new PodmanFailedError('load', 0, `the image was loaded but is not tagged ${tag}: ${loaded.value}`));
  return ok({ tag, loaded: true });
}
