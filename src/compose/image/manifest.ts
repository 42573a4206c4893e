import type { Digest } from '../../store/digest.js';

/** One wheel of a compose, as the manifest lists it. */
export interface ManifestWheel {
  package: string;
  version: string;
  file: string;
  digest: Digest;
  size: number;
  /** the cache key of the build that made it */
  buildKey: Digest;
}

/**
 * What went into an image, as canonical JSON: the same wheels give the same bytes,
 * so its digest (an image label) names the set of wheels exactly.
 */
export function wheelManifest(opts: { compose: string; wheels: ManifestWheel[] }): Buffer {
  const wheels = [...opts.wheels]
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
    .map((w) => ({ package: w.package, version: w.version, file: w.file, digest: w.digest, size: w.size, buildKey: w.buildKey }));
  return Buffer.from(JSON.stringify({ compose: opts.compose, kind: 'image', wheels }, null, 2) + '\n');
}
