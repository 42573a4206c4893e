import { readFileSync } from 'node:fs';
import { digestBytes, hexOf, isDigest, type Digest } from '../../store/digest.js';
import type { Store } from '../../store/store.js';

// A wheel's METADATA never changes (the wheel is a blob), so the index remembers which
// blob holds it: a re-compose reads that small blob instead of opening the zip, and
// links it in as the PEP 658 file. A lost or stale entry only costs a zip read.
const PREFIX = 'm/wheel-metadata/';

/**
 * In one index session: wheel digest → the METADATA blob the index remembers for it,
 * and the blobs the compose's current record keeps.
 */
export async function readComposeIndex(o: { store: Store; name: string; wheels: Digest[] }): Promise<{ metadata: Map<Digest, Digest>; kept: Set<Digest> }> {
  const got = await o.store.withIndex('read wheel metadata', async (s) => {
    const values = await s.db.getMany(o.wheels.map((w) => PREFIX + hexOf(w)));
    const current = await s.get('compose', `wheelhouse/${o.name}`);
    return { values, kept: current.ok && current.value && !current.value.broken ? current.value.data.blobs : [] };
  });
  const metadata = new Map<Digest, Digest>();
  if (!got.ok) return { metadata, kept: new Set() };
  got.value.values.forEach((v, i) => {
    if (isDigest(v)) metadata.set(o.wheels[i]!, v);
  });
  return { metadata, kept: new Set(got.value.kept) };
}

/** The remembered METADATA's bytes, or undefined when the blob is gone or not what it should be. */
export function cachedMetadata(store: Store, digest: Digest): Buffer | undefined {
  let bytes: Buffer;
  try {
    // A few hundred bytes: read on this thread, see placeWheels.
    bytes = readFileSync(store.blobPath(digest));
  } catch {
    return undefined;
  }
  return digestBytes(bytes) === digest ? bytes : undefined;
}

/** Index entries that remember each wheel's METADATA blob. */
export function metadataCacheOps(pairs: Array<{ wheel: Digest; metadata: Digest }>): Array<{ type: 'put'; key: string; value: string }> {
  return pairs.map((p) => ({ type: 'put', key: PREFIX + hexOf(p.wheel), value: p.metadata }));
}
