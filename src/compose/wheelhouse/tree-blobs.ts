import { link, writeFile } from 'node:fs/promises';
import type { LimitFunction } from 'p-limit';
import { touch } from '../../store/blobs.js';
import { digestBytes, type Digest } from '../../store/digest.js';
import type { Store } from '../../store/store.js';

/** A small file of the wheelhouse: a page, a PEP 658 metadata file, the manifest, the SBOM. */
export interface TreeFile {
  path: string;
  bytes: Buffer;
}

// Link failures that mean "cannot link here" rather than "the blob is not there".
const CANNOT_LINK = ['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP'];

/**
 * Places the files as hard links to store blobs of their content: creating a file costs
 * the kernel many times what a link does, and most pages come back unchanged compose
 * after compose. A file whose blob is missing is written (read-only, like the blobs)
 * and then taken into the store, so the next compose links it. Where linking is not
 * possible (the store on another file system) files are just written. Returns the
 * digests of the blobs the tree shares, for the compose record to keep; `kept` are
 * blobs the current record keeps already, the others found here get a fresh mtime so
 * gc's grace period covers them until the new record names them.
 */
export async function placeTreeFiles(o: { store: Store; files: TreeFile[]; limit: LimitFunction; kept: Set<Digest> }): Promise<Digest[]> {
  let canLink = true;
  const shared = new Set<Digest>();
  const written: Array<{ file: string; digest: Digest }> = [];
  const place = async (f: TreeFile, digest: Digest): Promise<void> => {
    if (canLink) {
      try {
        await link(o.store.blobPath(digest), f.path);
        shared.add(digest);
        return;
      } catch (e: unknown) {
        const code = (e as NodeJS.ErrnoException).code ?? '';
        if (code === 'ENOENT') {
          await writeFile(f.path, f.bytes, { mode: 0o444, flag: 'wx' });
          written.push({ file: f.path, digest });
          return;
        }
        if (!CANNOT_LINK.includes(code)) throw e;
        if (code === 'EXDEV') canLink = false;
      }
    }
    await writeFile(f.path, f.bytes, { flag: 'wx' });
  };
  await Promise.all(o.files.map((f) => o.limit(() => place(f, digestBytes(f.bytes)))));
  await Promise.all([...shared].filter((d) => !o.kept.has(d)).map((d) => o.limit(() => touch(o.store.blobPath(d)))));
  // Two files of one content are one blob: the first written is taken in.
  const fresh = [...new Map(written.filter((w) => !shared.has(w.digest)).map((w) => [w.digest, w])).values()];
  // Not taken in (the store could not flush), the tree is whole all the same; the next compose writes them again.
  const adopted = await o.store.adoptFiles({ files: fresh });
  adopted.forEach((r, i) => {
    if (r.ok) shared.add(fresh[i]!.digest);
  });
  return [...shared].sort();
}
