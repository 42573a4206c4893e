import { createHash } from 'node:crypto';
import { isDigest, type Digest } from '../core/digest.js';
import type { TarType } from '../archive/tar-write.js';
import type { DebEntry } from './deb.js';

// What one .deb unpacks to, without the bytes: every entry's path, type, mode, link and,
// for a file, its size and sha256. Env compose caches one per deb (keyed by the deb's
// sha256) so that a lock changing one deb plans the whole env from these and decompresses
// only that deb. A cached tree is read back as hostile input: anything off is a miss.

export interface TreeEntry {
  path: string;
  type: TarType;
  mode: number;
  /** symlink target as written; hardlink target as a root-relative path */
  link?: string;
  /** files */
  size?: number;
  digest?: Digest;
}

export interface DebTree {
  /** the .deb's sha256 (hex), as the lock names it */
  deb: string;
  entries: TreeEntry[];
}

/** Bumped when a tree's shape or meaning changes; older cached trees are then misses. */
const TREE_VERSION = 1;

/** The tree of a deb just read, hashing each file's bytes. */
export function treeOf(opts: { sha256: string; entries: DebEntry[] }): DebTree {
  return {
    deb: opts.sha256,
    entries: opts.entries.map((e) => {
      const t: TreeEntry = { path: e.path, type: e.type, mode: e.mode };
      if (e.link !== undefined) t.link = e.link;
      if (e.type === 'file') {
        const data = e.data ?? Buffer.alloc(0);
        t.size = data.length;
        t.digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
      }
      return t;
    }),
  };
}

/** A tree as plain JSON (what the cache index holds); rows, not objects: a big deb has thousands of entries. */
export function encodeTree(t: DebTree): unknown {
  return { v: TREE_VERSION, deb: t.deb, entries: t.entries.map((e) => [e.path, e.type, e.mode, e.link ?? null, e.size ?? null, e.digest ?? null]) };
}

const TYPES = new Set<string>(['file', 'dir', 'symlink', 'hardlink']);

/** A cached tree, checked field by field; `error` says what is wrong with it. */
export function decodeTree(opts: { value: unknown; sha256: string }): DebTree | { error: string } {
  const v = opts.value;
  if (typeof v !== 'object' || v === null) return { error: 'it is not an object' };
  const o = v as Record<string, unknown>;
  if (o['v'] !== TREE_VERSION) return { error: `version ${JSON.stringify(o['v'])}, not ${TREE_VERSION}` };
  if (o['deb'] !== opts.sha256) return { error: `it describes deb ${JSON.stringify(o['deb'])}, not ${opts.sha256}` };
  if (!Array.isArray(o['entries'])) return { error: 'it has no list of entries' };
  const entries: TreeEntry[] = [];
  for (const [i, row] of (o['entries'] as unknown[]).entries()) {
    const bad = (why: string) => ({ error: `entry ${i}: ${why}` });
    if (!Array.isArray(row) || row.length !== 6) return bad('not a 6-field row');
    const [p, type, mode, link, size, digest] = row as unknown[];
    if (typeof p !== 'string' || p === '') return bad('no path');
    if (!isClean(p)) return bad(`path ${JSON.stringify(p.slice(0, 80))} is not a clean relative path`);
    if (typeof type !== 'string' || !TYPES.has(type)) return bad(`type ${JSON.stringify(type)}`);
    if (!Number.isInteger(mode) || (mode as number) < 0 || (mode as number) > 0o7777) return bad(`mode ${JSON.stringify(mode)}`);
    const e: TreeEntry = { path: p, type: type as TarType, mode: mode as number };
    if (type === 'symlink' || type === 'hardlink') {
      if (typeof link !== 'string' || link === '' || link.includes('\0')) return bad('a link without a target');
      if (type === 'hardlink') {
        if (!isClean(link)) return bad('a hardlink target that is not a clean relative path');
      }
      e.link = link;
    } else if (link !== null) return bad('a link target on a file or directory');
    if (type === 'file') {
      if (!Number.isSafeInteger(size) || (size as number) < 0) return bad(`size ${JSON.stringify(size)}`);
      if (!isDigest(digest)) return bad(`digest ${JSON.stringify(digest)}`);
      e.size = size as number;
      e.digest = digest;
    } else if (size !== null || digest !== null) return bad('a size or digest on something that is not a file');
    entries.push(e);
  }
  return { deb: opts.sha256, entries };
}

/** What safeRelative (deb.ts) makes of a path: no NUL, not absolute, no empty, "." or ".." part. String tests: a big env has 15,000 paths. */
function isClean(p: string): boolean {
  if (p === '' || p.includes('\0') || p.startsWith('/') || p.endsWith('/') || p.includes('//')) return false;
  const wrapped = `/${p}/`;
  return !wrapped.includes('/./') && !wrapped.includes('/../');
}
