import { createReadStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { err, ok, type Result } from '../core/result.js';
import { UpstreamUnreachableError } from './errors.js';

/** How long a transfer may go without a byte before it counts as stalled. */
export const DEFAULT_IDLE_MS = 60_000;

/** Why a fetch failed, in words: undici hides the system error in `cause`. */
export function describeFailure(e: unknown): string {
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

/**
 * Opens an http(s) or file URL as a stream. An http transfer that goes `idleMs`
 * without a byte (before the answer or during the body) is aborted with a
 * "stalled" error, so a server that stops talking cannot hang a mirror for ever;
 * there is no limit on the total time, so large downloads on slow links still work.
 */
export async function openUrl(url: string, opts: { idleMs?: number } = {}): Promise<Result<{ body: Readable; size: number | undefined }, UpstreamUnreachableError>> {
  if (url.startsWith('file:')) {
    try {
      const stream = createReadStream(fileURLToPath(url));
      await new Promise<void>((resolve, reject) => stream.once('open', () => resolve()).once('error', reject));
      return ok({ body: stream, size: undefined });
    } catch (e: unknown) {
      return err(new UpstreamUnreachableError(url, describeFailure(e)));
    }
  }
  const idleMs = opts.idleMs ?? DEFAULT_IDLE_MS;
  const controller = new AbortController();
  const stalled = `stalled: no data for ${idleMs < 1000 ? `${idleMs} ms` : `${Math.round(idleMs / 1000)} s`}`;
  let timer = setTimeout(() => controller.abort(new Error(stalled)), idleMs);
  const rearm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new Error(stalled)), idleMs);
  };
  try {
    const res = await fetch(url, { redirect: 'follow', signal: controller.signal });
    if (!res.ok || !res.body) {
      clearTimeout(timer);
      await res.body?.cancel(); // else the connection stays busy until garbage collection
      return err(new UpstreamUnreachableError(url, `HTTP ${res.status} ${res.statusText}`.trim()));
    }
    rearm();
    const len = Number(res.headers.get('content-length'));
    const watchdog = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        rearm();
        cb(null, chunk);
      },
      flush(cb) {
        clearTimeout(timer);
        cb();
      },
    });
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
    body.on('error', (e) => {
      clearTimeout(timer);
      watchdog.destroy(controller.signal.aborted ? new Error(stalled) : e);
    });
    watchdog.on('close', () => clearTimeout(timer));
    return ok({ body: body.pipe(watchdog), size: Number.isFinite(len) && len > 0 ? len : undefined });
  } catch (e: unknown) {
    clearTimeout(timer);
    return err(new UpstreamUnreachableError(url, controller.signal.aborted ? stalled : describeFailure(e)));
  }
}
