import { Transform } from 'node:stream';
import { err, ok, type Result } from '../core/result.js';
import type { WeldError } from '../core/errors.js';
import type { BlobStore, Digest } from './blob-store.js';
import { DigestMismatchError, SourceReadError } from '../store/errors.js';
import { ChecksumMismatchError, UpstreamUnreachableError } from './errors.js';
import { openUrl } from './http.js';

export interface DownloadOptions {
  url: string;
  /** the digest the bytes must have; nothing is kept when they do not */
  expected: Digest;
  store: BlobStore;
  onProgress?: (done: number, total: number | undefined) => void;
  /** abort a transfer that sends nothing for this long (default 60 s) */
  idleMs?: number;
}

/**
 * Fetches `url` into the store, verified against `expected`. A blob already in the
 * store is not downloaded again.
 */
export async function download(opts: DownloadOptions): Promise<Result<{ digest: Digest; downloaded: boolean }, WeldError>> {
  if (await opts.store.has(opts.expected)) return ok({ digest: opts.expected, downloaded: false });
  const opened = await openUrl(opts.url, opts.idleMs !== undefined ? { idleMs: opts.idleMs } : {});
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
