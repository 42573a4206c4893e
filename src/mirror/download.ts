import { createReadStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { err, ok, type Result } from '../core/result.js';
import type { WeldError } from '../core/errors.js';
import type { BlobStore, Digest } from './blob-store.js';
import { DigestMismatchError, SourceReadError } from '../store/errors.js';
import { ChecksumMismatchError, UpstreamUnreachableError } from './errors.js';

export interface DownloadOptions {
  url: string;
  /** the digest the bytes must have; nothing is kept when they do not */
  expected: Digest;
  store: BlobStore;
  onProgress?: (done: number, total: number | undefined) => void;
}

/** Why a fetch failed, in words: undici hides the system error in `cause`. */
function describeFailure(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (e as { code?: string }).code;
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused (is the server up?)',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'host name lookup failed (no network?)',
    ECONNRESET: 'connection reset by the server',
    ETIMEDOUT: 'timed out',
    ENOENT: 'no such file',
    EACCES: 'permission denied',
  };
  return (code && known[code]) ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
}

async function open(url: string): Promise<Result<{ body: Readable; size: number | undefined }, UpstreamUnreachableError>> {
  try {
    if (url.startsWith('file:')) {
      const stream = createReadStream(fileURLToPath(url));
      await new Promise<void>((resolve, reject) => stream.once('open', () => resolve()).once('error', reject));
      return ok({ body: stream, size: undefined });
    }
    const res = await fetch(url, { redirect: 'follow' });
    if (!res.ok || !res.body) {
      await res.body?.cancel(); // else the connection stays busy until garbage collection
      return err(new UpstreamUnreachableError(url, `HTTP ${res.status} ${res.statusText}`.trim()));
    }
    const len = Number(res.headers.get('content-length'));
    return ok({ body: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), size: Number.isFinite(len) && len > 0 ? len : undefined });
  } catch (e: unknown) {
    return err(new UpstreamUnreachableError(url, describeFailure(e)));
  }
}

/**
 * Fetches `url` into the store, verified against `expected`. A blob already in the
 * store is not downloaded again.
 */
export async function download(opts: DownloadOptions): Promise<Result<{ digest: Digest; downloaded: boolean }, WeldError>> {
  if (await opts.store.has(opts.expected)) return ok({ digest: opts.expected, downloaded: false });
  const opened = await open(opts.url);
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
