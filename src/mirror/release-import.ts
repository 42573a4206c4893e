import type { Readable } from 'node:stream';
import { err, ok, type Result } from '../core/result.js';
import type { WeldError } from '../core/errors.js';
import type { BlobStore, Digest } from './blob-store.js';
import { mirrorEvent, type MirrorListener } from './events.js';
import { IMPORT_IDENTITY, TRAILER_SHA256, TRAILER_SOURCE } from './identity.js';
import type { RefUpdate } from './refs.js';
import { peel, readCommit, readRef, trailers, writeCommit, type MirrorRepo } from './repo.js';
import { importTarball, type TarballLimits } from './tarball/import.js';
import { upstreamTagRef } from '../metadata/names.js';

export interface ReleaseImportOptions {
  repo: MirrorRepo;
  store: BlobStore;
  pkg: string;
  version: string;
  /** the verified tarball in the store */
  digest: Digest;
  /** where it came from, recorded in the commit: the metadata's URL, or `debian:<src> <version>` (never a mirror host) */
  source: string;
  /** weld.toml's `[mirror]` limits; unset ones keep importTarball's defaults */
  limits?: Partial<TarballLimits>;
  onEvent?: MirrorListener;
}

export interface ImportedRelease {
  commit: string;
  imported: boolean;
  /** `upstream` and `upstream/<version>` for the caller to write at the end; none when nothing was imported */
  refs: RefUpdate[];
}

/** The commit `upstream/<version>` already has for this exact tarball, if any: a re-mirror is then a no-op. */
export async function importedRelease(opts: { repo: MirrorRepo; version: string; digest: Digest }): Promise<string | undefined> {
  const tagged = await readRef(opts.repo, upstreamTagRef(opts.version));
  const commit = tagged && (await peel(opts.repo, tagged));
  if (!commit) return undefined;
  const t = trailers((await readCommit(opts.repo, commit)).message);
  return t.get(TRAILER_SHA256) === opts.digest ? commit : undefined;
}

/**
 * Imports a release tarball as one commit on `upstream` (parent: the previously
 * imported release), tagged `upstream/<version>`. Author, committer and date come
 * from the tarball, so the same tarball after the same history gives the same id.
 */
export async function importRelease(opts: ReleaseImportOptions): Promise<Result<ImportedRelease, WeldError>> {
  const existing = await importedRelease(opts);
  if (existing) return ok({ commit: existing, imported: false, refs: [] });
  const blob = await opts.store.get(opts.digest);
  if (!blob.ok) return blob;
  opts.onEvent?.(mirrorEvent(opts.pkg, 'phase', { phase: 'import', detail: opts.source }));
  const imported = await importTarball({
    gitdir: opts.repo.gitdir,
    input: blob.value as Readable,
    source: opts.source,
    ...(opts.limits ? { limits: opts.limits } : {}),
    onProgress: (p) => opts.onEvent?.(mirrorEvent(opts.pkg, 'progress', { phase: 'import', done: p.files, unit: 'files' })),
  });
  if (!imported.ok) return err(imported.error);
  for (const s of imported.value.skipped) opts.onEvent?.(mirrorEvent(opts.pkg, 'warning', { message: `skipped ${s.path}: ${s.reason}` }));
  const previous = await readRef(opts.repo, 'refs/heads/upstream');
  const commit = await writeCommit(opts.repo, {
    tree: imported.value.tree,
    parents: previous ? [previous] : [],
    identity: IMPORT_IDENTITY,
    timestamp: imported.value.mtime,
    message: `Import ${opts.pkg} ${opts.version}\n\n${TRAILER_SOURCE}: ${opts.source}\n${TRAILER_SHA256}: ${opts.digest}\n`,
  });
  const refs = [
    { ref: 'refs/heads/upstream', oid: commit },
    { ref: upstreamTagRef(opts.version), oid: commit },
  ];
  return ok({ commit, imported: true, refs });
}
