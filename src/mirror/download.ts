import { constants as fsConstants, promises as fsp } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { err, ok, type Result } from '../core/result.js';
import type { WeldError } from '../core/errors.js';
import type { BlobStore, Digest } from './blob-store.js';
import { DigestMismatchError, SourceReadError } from '../store/errors.js';
import { checkLocalPath, localPathOf } from '../metadata/local-paths.js';
import { ChecksumMismatchError, LocalSourceRefusedError, UpstreamUnreachableError } from './errors.js';
import { describeFailure, openUrl } from './http.js';

export interface DownloadOptions {
  url: string;
  /** the digest the bytes must have; nothing is kept when they do not */
  expected: Digest;
  store: BlobStore;
  onProgress?: (done: number, total: number | undefined) => void;
  /** abort a transfer that sends nothing for this long (default 60 s) */
  idleMs?: number;
  /** when set, a file:// URL must resolve (symlinks followed) inside one of these directories */
  localRoots?: string[];
}

/**
 * Opens a file:// URL only where it really is inside `roots`, and opens that real
 * path without following a symlink, so a link swapped in after the check is refused.
 */
async function openLocal(opts: { url: string; roots: string[] }): Promise<Result<{ body: Readable; size: number | undefined }, WeldError>> {
  const file = localPathOf({ url: opts.url, root: '/' });
  if (file === undefined) return err(new UpstreamUnreachableError(opts.url, 'not a usable file:// URL'));
  const checked = checkLocalPath({ path: file, roots: opts.roots });
  if (!checked.ok) return err(new LocalSourceRefusedError(checked.message));
  try {
    const fh = await fsp.open(checked.real, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    return ok({ body: fh.createReadStream(), size: (await fh.stat()).size });
  } catch (e: unknown) {
    return err(new UpstreamUnreachableError(opts.url, describeFailure(e)));
  }
}

/**
 * Fetches `url` into the store, verified against `expected`. A blob already in the
 * store is not downloaded again.
 */
export async function download(opts: DownloadOptions): Promise<Result<{ digest: Digest; downloaded: boolean }, WeldError>> {
  if (await opts.store.has(opts.expected)) return ok({ digest: opts.expected, downloaded: false });
  const opened = opts.localRoots && opts.url.startsWith('file:') ? await openLocal({ url: opts.url, roots: opts.localRoots }) : await openUrl(opts.url, opts.idleMs !== undefined ? { idleMs: opts.idleMs } : {});
  if (!opened.ok) return opened;
  let done = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      done += chunk.length;
      opts.onProgress?.(done, opened.value.size);
      cb(null, chunk);
    },
  });
  opened.value.body.on('error', (e) => counter.destroy(e));
  const put = await opts.store.put(opened.value.body.pipe(counter), { expected: opts.expected });
  if (put.ok) return ok({ digest: put.value.digest, downloaded: true });
  const e = put.error;
  if (e instanceof DigestMismatchError) return err(new ChecksumMismatchError(opts.url, opts.expected, e.actual));
  if (e instanceof SourceReadError) return err(new UpstreamUnreachableError(opts.url, `the transfer broke off after ${done} bytes: ${e.message}`));
  return err(e);
}
