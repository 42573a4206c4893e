import { createHash } from 'node:crypto';
import type { Digest } from '../core/digest.js';
import type { TarEntry } from '../archive/tar-write.js';
import type { DebTree } from './deb-tree.js';

// One root filesystem from many .debs, planned from their trees (no bytes needed):
// entries merged by path (a later deb in lock order wins, with a warning when it really
// changes something), the files maintainer scripts would have made and a build needs,
// sorted, with fixed owners and mtimes. Then cut into layers (splitLayers).

export interface PlannedEntry {
  path: string;
  type: TarEntry['type'];
  mode: number;
  /** symlink target; for a hardlink, the path of the file that carries the bytes */
  link?: string;
  size?: number;
  digest?: Digest;
  /** where a file's bytes are: a deb (its index in the lock) and the path inside it */
  source?: { deb: number; path: string };
  /** the deb (lock index) this entry is from; -1 for what weld adds */
  from: number;
}

export interface LayerPlan {
  entries: PlannedEntry[];
  warnings: string[];
}

type Working = PlannedEntry & { group?: string };

const same = (a: Working, b: Working) => a.type === b.type && a.mode === b.mode && a.link === b.link && a.digest === b.digest;

export function planLayer(opts: { debs: Array<{ label: string; tree: DebTree }> }): LayerPlan {
  const byPath = new Map<string, Working>();
  const warnings: string[] = [];
  const label = (from: number) => (from < 0 ? 'weld' : opts.debs[from]!.label);
  opts.debs.forEach(({ label: deb, tree }, i) => {
    const own = new Map<string, Working>();
    for (const e of tree.entries) {
      const entry: Working = { path: e.path, type: e.type, mode: e.mode, from: i };
      if (e.link !== undefined) entry.link = e.link;
      if (e.type === 'file') Object.assign(entry, { size: e.size, digest: e.digest, source: { deb: i, path: e.path } });
      if (e.type === 'hardlink') {
        const target = own.get(e.link!);
        if (!target || target.type !== 'file') {
          warnings.push(`${deb}: hardlink ${e.path} → ${e.link} has no earlier file to point at; left out`);
          continue;
        }
        target.group ??= `${i}:${target.path}`;
        Object.assign(entry, { type: 'file', size: target.size, digest: target.digest, source: target.source, group: target.group });
        delete entry.link;
      }
      own.set(e.path, entry);
      const old = byPath.get(e.path);
      if (old && old.type === 'dir' && e.type === 'dir') continue; // shared directories: the first deb's mode stays
      if (old && !same(old, entry)) warnings.push(`${e.path}: ${deb} replaces the ${old.type} from ${label(old.from)}`);
      byPath.set(e.path, entry);
    }
  });
  addSystemFiles({ byPath, warnings });
  for (const p of [...byPath.keys()]) {
    for (let at = p.lastIndexOf('/'); at > 0; at = p.lastIndexOf('/', at - 1)) {
      const parent = p.slice(0, at);
      if (byPath.has(parent)) break;
      byPath.set(parent, { path: parent, type: 'dir', mode: 0o755, from: -1 });
    }
  }
  const entries = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  // A hardlink must follow the file it names: the first member of a group in sorted
  // order carries the bytes, the others link to it.
  const leader = new Map<string, string>();
  const out: PlannedEntry[] = entries.map(({ group, ...e }) => {
    if (!group) return e;
    const first = leader.get(group);
    if (first === undefined) {
      leader.set(group, e.path);
      return e;
    }
    return { path: e.path, type: 'hardlink', mode: e.mode, link: first, from: e.from };
  });
  return { entries: out, warnings };
}

/** What the skipped maintainer scripts would have left that a build relies on. */
function addSystemFiles(opts: { byPath: Map<string, Working>; warnings: string[] }): void {
  const { byPath } = opts;
  // base-passwd's postinst copies its masters into place
  for (const f of ['passwd', 'group']) {
    const master = byPath.get(`usr/share/base-passwd/${f}.master`);
    if (byPath.has(`etc/${f}`)) continue;
    if (master?.type === 'file' && master.source) byPath.set(`etc/${f}`, { path: `etc/${f}`, type: 'file', mode: 0o644, size: master.size!, digest: master.digest!, source: master.source, from: -1 });
    else opts.warnings.push(`no /etc/${f}: base-passwd is not in the env`);
  }
  byPath.set('tmp', { path: 'tmp', type: 'dir', mode: 0o1777, from: -1 });
}

/** The env image has this many layers of debs (fewer when some are empty), then weld's own. */
export const LAYER_BUCKETS = 16;

export interface PlannedLayer {
  /** "debs-07", or "weld" for what weld adds */
  bucket: string;
  /** in path order; a path is in exactly one layer, except the directories above it */
  entries: PlannedEntry[];
  /** digest of everything that decides the layer's bytes: the cache key of its blob */
  key: Digest;
}

/** A deb's layer depends only on its package name, so a new version of it changes that layer alone. */
export function bucketOf(name: string): string {
  const n = createHash('sha256').update(name).digest()[0]! % LAYER_BUCKETS;
  return `debs-${String(n).padStart(2, '0')}`;
}

/**
 * The plan cut into layers by the bucket of each entry's deb. Every path is in one layer
 * only, so stacking them gives exactly the planned tree whatever the order; each layer
 * also carries the directories (and symlinks) above its entries as planned, so that
 * unpacking a layer on its own creates nothing with other modes.
 */
export function splitLayers(opts: { plan: LayerPlan; names: string[]; format: number }): PlannedLayer[] {
  const { entries } = opts.plan;
  const bucketOfDeb = opts.names.map(bucketOf);
  const owner = (e: PlannedEntry) => (e.from < 0 ? 'weld' : bucketOfDeb[e.from]!);
  const byPath = new Map(entries.map((e) => [e.path, e]));
  // the other layers a directory (or symlink) is in, as the parent of their entries
  const above = new Map<string, Set<string>>();
  for (const e of entries) {
    const bucket = owner(e);
    for (let at = e.path.lastIndexOf('/'); at > 0; at = e.path.lastIndexOf('/', at - 1)) {
      const parent = byPath.get(e.path.slice(0, at));
      if (!parent || (parent.type !== 'dir' && parent.type !== 'symlink') || owner(parent) === bucket) continue;
      let set = above.get(parent.path);
      if (!set) above.set(parent.path, (set = new Set()));
      if (set.has(bucket)) break; // and so are the directories above it
      set.add(bucket);
    }
  }
  const layers = new Map<string, PlannedEntry[]>();
  const add = (bucket: string, e: PlannedEntry) => {
    const list = layers.get(bucket);
    if (list) list.push(e);
    else layers.set(bucket, [e]);
  };
  for (const e of entries) {
    add(owner(e), e);
    for (const bucket of above.get(e.path) ?? []) add(bucket, e);
  }
  const order = [...layers.keys()].sort((a, b) => (a === 'weld' ? 1 : b === 'weld' ? -1 : a < b ? -1 : a > b ? 1 : 0));
  return order.map((bucket) => {
    const own = layers.get(bucket)!;
    // the key: rows of what decides each entry's bytes (plain JSON: canonicalJson's replacer over 15,000 rows was most of a re-compose's planning)
    const rows = own.map((e) => [e.path, e.type, e.mode, e.link ?? null, e.digest ?? null]);
    const key = createHash('sha256').update(JSON.stringify({ format: opts.format, rows })).digest('hex');
    return { bucket, entries: own, key: `sha256:${key}` as Digest };
  });
}
