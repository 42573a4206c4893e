import { err, ok, type Result } from '../core/result.js';
import type { WeldError } from '../core/errors.js';
import type { Podman } from '../runner/podman/podman.js';
import { PodmanFailedError } from '../runner/podman/errors.js';
import type { Store } from '../store/store.js';
import type { ComposedImage } from './compose.js';
import { ociArchive } from './oci-archive.js';

/** Loads a composed image into podman under its tag, unless podman has it already. */
export async function loadEnvImage(opts: { image: ComposedImage; store: Store; podman: Podman }): Promise<Result<{ tag: string; loaded: boolean }, WeldError>> {
  const { image, podman } = opts;
  if (await podman.imageExists(image.tag)) return ok({ tag: image.tag, loaded: false });
  const archive = await ociArchive({ store: opts.store, record: image.record, ref: image.tag });
  if (!archive.ok) return archive;
  const loaded = await podman.load({ archive: archive.value });
  if (!loaded.ok) return loaded;
  // podman names an oci-archive's image after its ref.name annotation; make sure
  if (!(await podman.imageExists(image.tag))) return err(new PodmanFailedError('load', 0, `the image was loaded but is not tagged ${image.tag}: ${loaded.value}`));
  return ok({ tag: image.tag, loaded: true });
}
