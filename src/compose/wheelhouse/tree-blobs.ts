import { linkSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { LimitFunction } from 'p-limit';
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
 * blobs the current record keeps already, the others found here are kept alive through
 * gc's grace period until the new record names them.
 */
export async function placeTreeFiles(o: { store: Store; files: TreeFile[]; limit: LimitFunction; kept: Set<Digest> }): Promise<Digest[]> {
  let canLink = true;
  const shared = new Set<Digest>();
  const toWrite: Array<{ file: TreeFile; digest: Digest; adopt: boolean }> = [];
  // Links on this thread (cheap calls; see placeWheels in compose.ts), writes in parallel.
  for (const f of o.files) {
    const digest = digestBytes(f.bytes);
    if (!canLink) {
      toWrite.push({ file: f, digest, adopt: false });
      continue;
    }
    try {
      linkSync(o.store.blobPath(digest), f.path);
      shared.add(digest);
    } catch (e: unknown) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (code !== 'ENOENT' && !CANNOT_LINK.includes(code)) throw e;
      if (code === 'EXDEV') canLink = false;
      // Read-only like the blob it is about to become.
      toWrite.push({ file: f, digest, adopt: code === 'ENOENT' });
    }
  }
  await o.store.keepAlive([...shared].filter((d) => !o.kept.has(d)));
  await Promise.all(toWrite.map((w) => o.limit(() => writeFile(w.file.path, w.file.bytes, { flag: 'wx', ...(w.adopt ? { mode: 0o444 } : {}) }))));
  // Two files of one content are one blob: the first written is taken in.
  const fresh = [...new Map(toWrite.filter((w) => w.adopt && !shared.has(w.digest)).map((w) => [w.digest, { file: w.file.path, digest: w.digest }])).values()];
  // Not taken in (the store could not flush), the tree is whole all the same; the next compose writes them again.
  const adopted = await o.store.adoptFiles({ files: fresh });
  adopted.forEach((r, i) => {
    if (r.ok) shared.add(fresh[i]!.digest);
  });
  return [...shared].sort();
}
