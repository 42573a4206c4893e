import { ociArchive, type BlobFiles } from '../archive/oci-archive.js';
import type { ImageBlobs } from '../archive/oci.js';
import { err, ok, type Result } from '../core/result.js';
import { PodmanFailedError } from './errors.js';
import type { Podman } from './podman.js';

/**
 * Loads an image whose blobs are in `blobs` (the store) into podman as `tag`, unless
 * podman has it already: env images for builds, composed images for `--load`.
 */
export async function loadImage<E>(opts: { tag: string; image: ImageBlobs; blobs: BlobFiles<E>; podman: Podman }): Promise<Result<{ tag: string; loaded: boolean }, E | PodmanFailedError>> {
  const { podman, tag } = opts;
  if (await podman.imageExists(tag)) return ok({ tag, loaded: false });
  const archive = await ociArchive({ blobs: opts.blobs, image: opts.image, ref: tag });
  if (!archive.ok) return archive;
  const loaded = await podman.load({ archive: archive.value });
  if (!loaded.ok) return loaded;
  // podman names an oci-archive's image after its ref.name annotation; make sure
  if (!(await podman.imageExists(tag))) return err(new PodmanFailedError('load', 0, `the image was loaded but is not tagged ${tag}: ${loaded.value}`));
  return ok({ tag, loaded: true });
}

/**
 * An image index as podman keeps one: a manifest list `tag` over images already loaded
 * (each target's). `podman run --arch X tag` then picks the image of arch X.
 */
export async function loadImageIndex(o: { tag: string; images: readonly string[]; podman: Podman }): Promise<Result<{ tag: string; loaded: boolean }, PodmanFailedError>> {
  const { podman, tag } = o;
  if ((await podman.exec({ args: ['manifest', 'exists', tag] })).code === 0) return ok({ tag, loaded: false });
  const created = await podman.exec({ args: ['manifest', 'create', tag] });
  if (created.code !== 0) return err(new PodmanFailedError('manifest create', created.code, created.stderr || created.stdout));
  for (const image of o.images) {
    // podman stores a loaded `weld/x:t` as localhost/weld/x:t, and a containers-storage
    // reference is not short-name resolved: it must name that.
    const first = image.split('/')[0]!;
    const stored = image.includes('/') && !/[.:]/.test(first) && first !== 'localhost' ? `localhost/${image}` : image;
    const added = await podman.exec({ args: ['manifest', 'add', tag, `containers-storage:${stored}`] });
    if (added.code !== 0) {
      // A half-made list would be taken for the whole one next time.
      await podman.exec({ args: ['manifest', 'rm', tag] });
      return err(new PodmanFailedError('manifest add', added.code, added.stderr || added.stdout));
    }
  }
  return ok({ tag, loaded: true });
}
