import { createHash } from 'node:crypto';

// The one digest type of weld: plan, store, records and the CLI all spell a digest this way.

/** `sha256:<64 hex>` */
export type Digest = `sha256:${string}`;

const FULL = /^sha256:[0-9a-f]{64}$/;

export function isDigest(s: unknown): s is Digest {
  return typeof s === 'string' && FULL.test(s);
}

export function sha256Of(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * JSON with object keys sorted at every level, so equal values hash equally: what every
 * digest of structured input (cache keys, env descriptions, recipe bundles) is taken of.
 * The native serializer does the work (a replacer only reorders keys): a no-op build
 * computes a key per package, and a hand-written serializer was most of that time.
 */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_key, value: unknown) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    const o = value as Record<string, unknown>;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(o).sort()) sorted[k] = o[k];
    return sorted;
  });
}

/** The digest of a value's canonical JSON. */
export function digestOfJson(v: unknown): Digest {
  return sha256Of(canonicalJson(v));
}
