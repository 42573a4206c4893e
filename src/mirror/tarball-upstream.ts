import { ok, type Result } from '../core/result.js';
import type { WeldError } from '../core/errors.js';
import type { BlobStore, Digest } from './blob-store.js';
import { download } from './download.js';
import { mirrorEvent, type MirrorListener } from './events.js';
import { importedRelease, importRelease, type ImportedRelease } from './release-import.js';
import type { MirrorRepo } from './repo.js';
import type { TarballLimits } from './tarball/import.js';

/**
 * A tarball upstream: downloaded into the store (verified against the metadata's
 * sha256; a mismatch leaves nothing behind), then imported on `upstream`. A release
 * already imported from the same bytes needs no download.
 */
export async function mirrorTarballUpstream(opts: {
  repo: MirrorRepo;
  store: BlobStore;
  pkg: string;
  version: string;
  url: string;
  sha256: string;
  /** where a file:// tarball may be read from (see download) */
  localRoots?: string[];
  limits?: Partial<TarballLimits>;
  onEvent?: MirrorListener;
}): Promise<Result<ImportedRelease, WeldError>> {
  const digest = `sha256:${opts.sha256}` as Digest;
  const done = await importedRelease({ repo: opts.repo, version: opts.version, digest });
  if (done) return ok({ commit: done, imported: false, refs: [] });
  opts.onEvent?.(mirrorEvent(opts.pkg, 'phase', { phase: 'download', detail: opts.url }));
  const got = await download({
    url: opts.url,
    expected: digest,
    store: opts.store,
    ...(opts.localRoots ? { localRoots: opts.localRoots } : {}),
    onProgress: (n, total) => opts.onEvent?.(mirrorEvent(opts.pkg, 'progress', { phase: 'download', done: n, ...(total ? { total } : {}), unit: 'bytes' })),
  });
  if (!got.ok) return got;
  return importRelease({ ...opts, digest, source: opts.url });
}
