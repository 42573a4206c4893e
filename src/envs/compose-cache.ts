import { readFile } from 'node:fs/promises';
import { isDigest, sha256Of, type Digest } from '../core/digest.js';
import type { RecordInput } from '../store/index.js';
import type { Store } from '../store/store.js';
import { decodeTree, type DebTree } from './deb-tree.js';

// What env compose remembers between composes of an env, so that a lock changing one
// deb does not decompress the others again: per deb (by sha256) its tree, per layer key
// the layer blob, per bucket the layer it had last time (bytes to take unchanged files
// from). One index blob holds all of it (a blob per tree would cost an fsync per deb on
// every cold compose); a root record `env-compose-cache/<env>` names the index first and
// then every layer it points at, so gc keeps exactly the current ones. Everything read
// back is checked (the blob's digest, then each tree's shape when it is used); anything
// wrong is a miss reported as a warning, never trusted and never fatal.

export const cacheRootName = (env: string) => `env-compose-cache/${env}`;

export interface BlobRef {
  digest: Digest;
  size: number;
}

export interface CacheIndex {
  /** deb sha256 (hex) → its tree as encodeTree wrote it (decoded, and checked, when used) */
  trees: Record<string, unknown>;
  /** layer key → the layer blob with exactly those entries */
  layers: Record<string, BlobRef>;
  /** bucket → the layer it had in the last compose */
  buckets: Record<string, BlobRef>;
}

const INDEX_VERSION = 1;
/** An index is a few MB (the sample builder env's: about 2); a blob far past that is not one of ours. */
const MAX_META_BYTES = 64 << 20;

export const emptyIndex = (): CacheIndex => ({ trees: {}, layers: {}, buckets: {} });

/** A blob's bytes, re-hashed against its digest; `error` says why they cannot be used. */
export async function readVerified(opts: { store: Store; digest: Digest; maxBytes?: number }): Promise<Buffer | { error: string }> {
  const stat = await opts.store.stat(opts.digest);
  if (!stat.ok) return { error: `blob ${opts.digest} is not in the store` };
  if (opts.maxBytes !== undefined && stat.value.size > opts.maxBytes) return { error: `blob ${opts.digest} is ${stat.value.size} bytes, more than ${opts.maxBytes}` };
  let bytes: Buffer;
  try {
    bytes = await readFile(stat.value.path);
  } catch (e: unknown) {
    return { error: `blob ${opts.digest} cannot be read: ${(e as Error).message}` };
  }
  const actual = sha256Of(bytes);
  if (actual !== opts.digest) return { error: `blob ${opts.digest} is damaged (its bytes hash to ${actual})` };
  return bytes;
}

/** The env's cache index; an absent one is empty, a damaged one is empty with the reason in `problem`. */
export async function loadCache(opts: { store: Store; env: string }): Promise<{ index: CacheIndex; problem?: string }> {
  const root = await opts.store.getRecord('root', cacheRootName(opts.env));
  if (!root.ok) return { index: emptyIndex(), problem: `the compose cache of env "${opts.env}" cannot be read: ${root.error.message}` };
  const first = root.value?.data.digests?.[0];
  if (!root.value) return { index: emptyIndex() };
  const damaged = (why: string) => ({ index: emptyIndex(), problem: `the compose cache of env "${opts.env}" is not used: ${why}; composing without it` });
  if (!isDigest(first)) return damaged('its root names no index');
  const bytes = await readVerified({ store: opts.store, digest: first, maxBytes: MAX_META_BYTES });
  if (!Buffer.isBuffer(bytes)) return damaged(bytes.error);
  const index = decodeIndex(bytes);
  return 'error' in index ? damaged(`its index ${index.error}`) : { index };
}

/** The cached tree of one deb, if the index has one that checks out. */
export function cachedTree(opts: { index: CacheIndex; sha256: string }): { tree?: DebTree; problem?: string } {
  const value = opts.index.trees[opts.sha256];
  if (value === undefined) return {};
  const tree = decodeTree({ value, sha256: opts.sha256 });
  if (!('error' in tree)) return { tree };
  return { problem: `the cached tree of deb ${opts.sha256.slice(0, 12)} is not used (${tree.error}); reading the deb again` };
}

export function encodeIndex(index: CacheIndex): Buffer {
  return Buffer.from(JSON.stringify({ v: INDEX_VERSION, ...index }));
}

/** The root record that names the index (first) and every blob it points at. */
export function cacheRootRecord(opts: { env: string; index: CacheIndex; indexDigest: Digest }): RecordInput {
  const { index } = opts;
  const digests = new Set<Digest>([opts.indexDigest, ...Object.values(index.layers).map((l) => l.digest), ...Object.values(index.buckets).map((l) => l.digest)]);
  const name = cacheRootName(opts.env);
  return { kind: 'root', id: name, data: { name, digests: [...digests], createdAt: new Date().toISOString() } };
}

function decodeIndex(bytes: Buffer): CacheIndex | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (e: unknown) {
    return { error: `is not JSON (${(e as Error).message})` };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { error: 'is not an object' };
  const o = v as Record<string, unknown>;
  if (o['v'] !== INDEX_VERSION) return { error: `has version ${JSON.stringify(o['v'])}, not ${INDEX_VERSION}` };
  const trees = mapOf(o['trees'], (k) => /^[0-9a-f]{64}$/.test(k));
  const isRef = (r: unknown): boolean => typeof r === 'object' && r !== null && isDigest((r as BlobRef).digest) && Number.isSafeInteger((r as BlobRef).size) && (r as BlobRef).size >= 0;
  const layers = mapOf(o['layers'], (k, r) => isDigest(k) && isRef(r));
  const buckets = mapOf(o['buckets'], (k, r) => /^[a-z0-9-]{1,32}$/.test(k) && isRef(r));
  if (!trees) return { error: 'has a bad "trees" map' };
  if (!layers) return { error: 'has a bad "layers" map' };
  if (!buckets) return { error: 'has a bad "buckets" map' };
  return { trees, layers: layers as Record<string, BlobRef>, buckets: buckets as Record<string, BlobRef> };
}

function mapOf(v: unknown, ok: (k: string, value: unknown) => boolean): Record<string, unknown> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [k, value] of Object.entries(v)) {
    if (!ok(k, value)) return undefined;
    out[k] = value;
  }
  return out;
}
