import { createHash } from 'node:crypto';
import type { WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import { ChecksumMismatchError, UpstreamUnreachableError } from '../mirror/errors.js';
import { openUrl } from '../mirror/http.js';

/** An sdist or .orig the importer reads is held in memory: bigger than this is refused. */
export const MAX_ARTIFACT = 512 * 2 ** 20;

/**
 * Fetches `url` into memory; with `sha256`, the bytes must have it (the index's or the
 * Debian archive's promise), as `weld mirror` verifies its downloads. Nothing of a file
 * that fails is used.
 */
export async function fetchBytes(opts: { url: string; sha256?: string; maxBytes?: number }): Promise<Result<{ bytes: Buffer; sha256: string }, WeldError>> {
  const max = opts.maxBytes ?? MAX_ARTIFACT;
  const opened = await openUrl(opts.url);
  if (!opened.ok) return opened;
  if (opened.value.size !== undefined && opened.value.size > max) {
    opened.value.body.destroy();
    return err(new UpstreamUnreachableError(opts.url, `it is ${opened.value.size} bytes, over the ${max}-byte limit for files weld import reads`));
  }
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of opened.value.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > max) {
        opened.value.body.destroy();
        return err(new UpstreamUnreachableError(opts.url, `it is over the ${max}-byte limit for files weld import reads`));
      }
      hash.update(chunk);
      chunks.push(chunk);
    }
  } catch (e: unknown) {
    return err(new UpstreamUnreachableError(opts.url, `the transfer broke off after ${size} bytes: ${(e as Error).message}`));
  }
  const actual = hash.digest('hex');
  if (opts.sha256 !== undefined && actual !== opts.sha256) return err(new ChecksumMismatchError(opts.url, `sha256:${opts.sha256}`, `sha256:${actual}`));
  return ok({ bytes: Buffer.concat(chunks), sha256: actual });
}

/** GET a small text document (an index page), with an Accept header. */
export async function fetchText(opts: { url: string; accept: string; maxBytes?: number }): Promise<Result<{ text: string; contentType: string; url: string }, WeldError>> {
  const max = opts.maxBytes ?? 64 * 2 ** 20;
  let res: Response;
  try {
    res = await fetch(opts.url, { headers: { accept: opts.accept }, redirect: 'follow', signal: AbortSignal.timeout(60_000) });
  } catch (e: unknown) {
    const { describeFailure } = await import('../mirror/http.js');
    return err(new UpstreamUnreachableError(opts.url, describeFailure(e)));
  }
  if (!res.ok) {
    await res.body?.cancel();
    return err(new UpstreamUnreachableError(opts.url, `HTTP ${res.status} ${res.statusText}`.trim()));
  }
  const buf = Buffer.from(await res.arrayBuffer());
  if (buf.length > max) return err(new UpstreamUnreachableError(opts.url, `the page is over ${max} bytes`));
  return ok({ text: buf.toString('utf8'), contentType: (res.headers.get('content-type') ?? '').toLowerCase(), url: res.url || opts.url });
}
