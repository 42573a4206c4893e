import { err, ok, type Result } from '../../core/result.js';
import type { WeldError } from '../../core/errors.js';
import type { BlobStore, Digest } from '../blob-store.js';
import { download } from '../download.js';
import { DebianSourceError } from '../errors.js';
import { mirrorEvent, type MirrorListener } from '../events.js';
import { TRAILER_SOURCE } from '../identity.js';
import { importRelease, type ImportedRelease } from '../release-import.js';
import { peel, readCommit, readRef, trailers, type MirrorRepo } from '../repo.js';
import { debianMirrorFor } from './apt-sources.js';
import { readDebianPatches } from './debian-patches.js';
import { fetchSourcesIndex, unsafeEntryPath, upstreamVersion, type SourceEntry } from './sources-index.js';
import type { PatchInput } from '../patches/series.js';
import { upstreamTagRef } from '../../metadata/names.js';
import type { TarballLimits } from '../tarball/import.js';

/**
 * The Debian archive as seen by one `weld mirror` run: each suite/component index is
 * fetched at most once, keeping only the source packages this run needs.
 */
export class DebianArchive {
  private readonly indexes = new Map<string, Promise<Result<Map<string, SourceEntry[]>, WeldError>>>();

  constructor(
    private readonly opts: { wanted: Set<string>; env?: NodeJS.ProcessEnv; aptDir?: string },
  ) {}

  base(suite: string): Result<string, DebianSourceError> {
    const b = debianMirrorFor({ suite, anyRelease: true, ...(this.opts.env ? { env: this.opts.env } : {}), ...(this.opts.aptDir ? { aptDir: this.opts.aptDir } : {}) });
    if (b) return ok(b);
    return err(new DebianSourceError(`no Debian mirror for suite "${suite}": apt has no source for it`, 'set WELD_DEBIAN_MIRROR to the archive root, e.g. WELD_DEBIAN_MIRROR=http://deb.debian.org/debian'));
  }

  async find(opts: { suite: string; components: string[]; source: string }): Promise<Result<{ base: string; entries: SourceEntry[] }, WeldError>> {
    const base = this.base(opts.suite);
    if (!base.ok) return base;
    const entries: SourceEntry[] = [];
    for (const component of opts.components) {
      const key = `${base.value} ${opts.suite} ${component}`;
      let index = this.indexes.get(key);
      if (!index) this.indexes.set(key, (index = fetchSourcesIndex({ base: base.value, suite: opts.suite, component, wanted: this.opts.wanted })));
      const got = await index;
      if (!got.ok) return got;
      entries.push(...(got.value.get(opts.source) ?? []));
    }
    return ok({ base: base.value, entries });
  }
}

export interface DebianUpstreamOptions {
  repo: MirrorRepo;
  store: BlobStore;
  archive: DebianArchive;
  pkg: string;
  version: string;
  source: string;
  suite: string;
  components: string[];
  /** also return Debian's own quilt patches (`[upstream] debian_patches = true`) */
  debianPatches?: boolean;
  refresh?: boolean;
  /** weld.toml's `[mirror]` limits for the .orig tarball */
  limits?: Partial<TarballLimits>;
  onEvent?: MirrorListener;
}

export interface DebianUpstream extends ImportedRelease {
  /** Debian's quilt patches, in series order, when asked for */
  patches: PatchInput[];
}

/** The entry whose upstream version is the package's (allowing Debian repack suffixes like +dfsg). */
function pick(entries: SourceEntry[], version: string): SourceEntry | undefined {
  const matches = entries.filter((e) => {
    const up = upstreamVersion(e.version);
    return up === version || up.startsWith(`${version}+`);
  });
  return matches[matches.length - 1];
}

/**
 * Imports the `.orig` tarball of a Debian source package. Without `refresh`, a
 * release already imported from this source is reused with no network at all.
 */
export async function mirrorDebianUpstream(opts: DebianUpstreamOptions): Promise<Result<DebianUpstream, WeldError>> {
  // The suite is part of the label: another suite may ship another .orig for one version.
  const label = `debian:${opts.suite}/${opts.source}`;
  // Debian's patches live in the .debian.tar next to the .orig: finding it needs the index.
  if (!opts.refresh && !opts.debianPatches) {
    const tagged = await readRef(opts.repo, upstreamTagRef(opts.version));
    const commit = tagged && (await peel(opts.repo, tagged));
    if (commit && trailers((await readCommit(opts.repo, commit)).message).get(TRAILER_SOURCE)?.startsWith(`${label} `)) return ok({ commit, imported: false, refs: [], patches: [] });
  }
  opts.onEvent?.(mirrorEvent(opts.pkg, 'phase', { phase: 'resolve', detail: `${opts.source} in ${opts.suite}` }));
  const found = await opts.archive.find(opts);
  if (!found.ok) return found;
  const entry = pick(found.value.entries, opts.version);
  if (!entry) {
    const have = found.value.entries.map((e) => `${e.version} (upstream ${upstreamVersion(e.version)})`);
    return err(
      new DebianSourceError(
        have.length
          ? `${opts.suite} has ${opts.source} ${have.join(', ')}, not upstream version ${opts.version}`
          : `${opts.suite} has no source package "${opts.source}" in ${opts.components.join(', ')}`,
        have.length ? `set version = "${upstreamVersion(found.value.entries.at(-1)!.version)}" in the package file, or use another suite` : 'check [upstream] debian in the package file (the source package name, not a binary package name)',
      ),
    );
  }
  const unsafe = unsafeEntryPath(entry);
  if (unsafe) {
    return err(
      new DebianSourceError(
        `${entry.package} ${entry.version}: ${unsafe.field} "${unsafe.value}" in ${opts.suite}'s Sources index ${unsafe.why}; nothing was downloaded`,
        "a genuine Debian archive names only paths below its root: check that WELD_DEBIAN_MIRROR (or apt's sources) points at a real Debian mirror",
      ),
    );
  }
  const up = upstreamVersion(entry.version);
  const orig =
    entry.files.find((f) => new RegExp(`^${escape(entry.package)}_${escape(up)}\\.orig\\.tar\\.[a-z0-9]+$`).test(f.name)) ??
    // Debian-native packages have no .orig: their one tarball is the source
    entry.files.find((f) => /\.tar\.[a-z0-9]+$/.test(f.name) && !/\.debian\.tar\./.test(f.name) && !/\.orig-/.test(f.name));
  if (!orig) return err(new DebianSourceError(`${opts.source} ${entry.version} lists no source tarball in ${opts.suite}'s index`));
  const url = `${found.value.base}/${entry.directory}/${orig.name}`;
  opts.onEvent?.(mirrorEvent(opts.pkg, 'phase', { phase: 'download', detail: orig.name }));
  const digest = `sha256:${orig.sha256}` as Digest;
  const got = await download({
    url,
    expected: digest,
    store: opts.store,
    onProgress: (done) => opts.onEvent?.(mirrorEvent(opts.pkg, 'progress', { phase: 'download', done, total: orig.size, unit: 'bytes' })),
  });
  if (!got.ok) return got;
  // The label names the Debian source and version, never the mirror host: commit ids stay the same everywhere.
  const imported = await importRelease({ ...opts, digest, source: `${label} ${entry.version} ${orig.name}` });
  if (!imported.ok) return imported;
  if (!opts.debianPatches) return ok({ ...imported.value, patches: [] });
  const packaging = entry.files.find((f) => /\.debian\.tar\.[a-z0-9]+$/.test(f.name));
  if (!packaging) {
    return err(new DebianSourceError(`${opts.source} ${entry.version} has no .debian.tar in ${opts.suite} (a native or 1.0-format package), so there are no Debian patches to apply`, 'set debian_patches = false'));
  }
  const packagingDigest = `sha256:${packaging.sha256}` as Digest;
  opts.onEvent?.(mirrorEvent(opts.pkg, 'phase', { phase: 'download', detail: packaging.name }));
  const got2 = await download({ url: `${found.value.base}/${entry.directory}/${packaging.name}`, expected: packagingDigest, store: opts.store });
  if (!got2.ok) return got2;
  const patches = await readDebianPatches({ store: opts.store, digest: packagingDigest, label: packaging.name });
  if (!patches.ok) return patches;
  return ok({ ...imported.value, patches: patches.value });
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
