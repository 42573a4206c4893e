import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pLimit from 'p-limit';
import { err, ok, type Result } from '../core/result.js';
import type { WeldError } from '../core/errors.js';
import type { Digest } from '../core/digest.js';
import { readTar } from '../archive/tar-read.js';
import { tarChunks, type TarEntry } from '../archive/tar-write.js';
import type { LockedDeb } from '../metadata/model.js';
import { tmpName } from '../store/layout.js';
import type { Store } from '../store/store.js';
import { cachedTree, type BlobRef, type CacheIndex } from './compose-cache.js';
import { readDeb } from './deb.js';
import { encodeTree, treeOf, type DebTree } from './deb-tree.js';
import { DebDigestMismatchError } from './errors.js';
import { planLayer, splitLayers, type PlannedLayer } from './layer.js';

// The layers of an env from its locked debs, taking from the compose cache whatever it
// has: a deb with a cached tree is not decompressed to plan the env; a layer whose key is
// cached is not written; a layer that must be written takes the bytes of files it shares
// with the bucket's previous layer from that layer (each checked against the planned
// sha256) and decompresses only the debs whose bytes are nowhere else.

export interface ComposeLayersOptions {
  store: Store;
  debs: LockedDeb[];
  index: CacheIndex;
  /** debs decompressed at once */
  concurrency: number;
  /** the layer format (COMPOSER_VERSION): part of every layer key */
  format: number;
  onWarning: (message: string) => void;
  onPhase: (detail: string) => void;
  onRead: (done: number, total: number) => void;
}

export interface ComposeStats {
  debs: number;
  /** debs decompressed: to plan (no cached tree) or for bytes no cached layer had */
  debsRead: number;
  layers: number;
  /** layers whose blob was written (the others were in the cache) */
  layersWritten: number;
}

export interface ComposedLayers {
  layers: BlobRef[];
  index: CacheIndex;
  stats: ComposeStats;
}

/** `cacheWrong`: a deb read again did not match its cached tree, so the plan cannot be trusted. */
export async function composeLayers(opts: ComposeLayersOptions): Promise<Result<ComposedLayers | { cacheWrong: string }, WeldError>> {
  const { store, debs } = opts;
  const trees: Array<DebTree | undefined> = debs.map((d) => {
    const c = cachedTree({ index: opts.index, sha256: d.sha256 });
    if (c.problem) opts.onWarning(c.problem);
    return c.tree;
  });
  const bytes = new Map<number, Map<string, Buffer>>();
  const toRead = debs.flatMap((_, i) => (trees[i] ? [] : [i]));
  if (toRead.length) opts.onPhase(toRead.length === debs.length ? `unpacking ${debs.length} debs` : `unpacking ${toRead.length} of ${debs.length} debs (the others are cached)`);
  const first = await readDebs({ ...opts, which: toRead });
  if (!first.ok) return first;
  for (const r of first.value) {
    trees[r.index] = r.tree;
    bytes.set(r.index, r.files);
  }
  const plan = planLayer({ debs: debs.map((d, i) => ({ label: `${d.name}_${d.version}_${d.arch}`, tree: trees[i]! })) });
  for (const message of plan.warnings) opts.onWarning(message);
  const layers = splitLayers({ plan, names: debs.map((d) => d.name), format: opts.format });

  const refs: Array<BlobRef | undefined> = [];
  for (const l of layers) refs.push(await cachedLayer({ store, ref: opts.index.layers[l.key] }));
  const missing = layers.filter((_, i) => !refs[i]);
  let read = toRead.length;
  if (missing.length) {
    const entries = missing.reduce((n, l) => n + l.entries.length, 0);
    opts.onPhase(missing.length === layers.length ? `writing ${layers.length} layers (${entries} entries)` : `writing ${missing.length} of ${layers.length} layers (${entries} entries; the others are cached)`);
    const old = new Map<string, Map<string, Buffer>>();
    for (const l of missing) old.set(l.bucket, await layerFiles({ store, ref: opts.index.buckets[l.bucket] }));
    const need = new Set<number>();
    for (const l of missing) for (const e of l.entries) if (e.source && !contentOf({ e, bytes, old: old.get(l.bucket)! })) need.add(e.source.deb);
    const again = await readDebs({ ...opts, which: [...need].sort((a, b) => a - b) });
    if (!again.ok) return again;
    for (const r of again.value) {
      if (JSON.stringify(encodeTree(r.tree)) !== JSON.stringify(encodeTree(trees[r.index]!))) {
        return ok({ cacheWrong: `the cached tree of ${debs[r.index]!.path} does not match the deb` });
      }
      bytes.set(r.index, r.files);
    }
    read += need.size;
    // two at a time: one is hashed on this thread while the other's writes and fsync run
    const writing = pLimit(2);
    const written = await Promise.all(
      layers.map((l, i) =>
        refs[i]
          ? undefined
          : writing(async () => {
              const w = await writeLayer({ store, layer: l, bytes, old: old.get(l.bucket)! });
              if (w.ok) refs[i] = w.value;
              old.delete(l.bucket); // its bytes are not needed past its own layer
              return w;
            }),
      ),
    );
    const failed = written.find((w) => w && !w.ok);
    if (failed && !failed.ok) return failed;
  } else opts.onPhase(`all ${layers.length} layers are cached`);

  const index: CacheIndex = { trees: {}, layers: {}, buckets: {} };
  debs.forEach((d, i) => (index.trees[d.sha256] = opts.index.trees[d.sha256] !== undefined && bytes.get(i) === undefined ? opts.index.trees[d.sha256] : encodeTree(trees[i]!)));
  layers.forEach((l, i) => {
    index.layers[l.key] = refs[i]!;
    index.buckets[l.bucket] = refs[i]!;
  });
  return ok({ layers: refs.map((r) => r!), index, stats: { debs: debs.length, debsRead: read, layers: layers.length, layersWritten: missing.length } });
}

/** A cached layer blob, if it is still in the store at its size. */
async function cachedLayer(opts: { store: Store; ref: BlobRef | undefined }): Promise<BlobRef | undefined> {
  if (!opts.ref) return undefined;
  const s = await opts.store.stat(opts.ref.digest);
  return s.ok && s.value.size === opts.ref.size ? opts.ref : undefined;
}

/** The files of a previous layer by path (hardlinks resolved); empty when there is none or it does not parse. */
async function layerFiles(opts: { store: Store; ref: BlobRef | undefined }): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  if (!opts.ref) return out;
  const s = await opts.store.stat(opts.ref.digest);
  if (!s.ok) return out;
  const tar = readTar(await readFile(s.value.path).catch(() => Buffer.alloc(0)));
  if ('error' in tar) return out;
  for (const e of tar.entries) {
    if (e.typeflag === '0') out.set(e.path, e.data);
    else if (e.typeflag === '1') {
      const target = out.get(e.link);
      if (target) out.set(e.path, target);
    }
  }
  return out;
}

const sha = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A planned file's bytes from a deb read in this run, or from the old layer when they hash as planned. */
function contentOf(opts: { e: PlannedLayer['entries'][number]; bytes: Map<number, Map<string, Buffer>>; old: Map<string, Buffer> }): Buffer | undefined {
  const { e } = opts;
  const fresh = opts.bytes.get(e.source!.deb)?.get(e.source!.path);
  if (fresh) return fresh;
  const old = opts.old.get(e.path);
  if (old && old.length === e.size && sha(old) === e.digest) return old;
  return undefined;
}

async function writeLayer(opts: { store: Store; layer: PlannedLayer; bytes: Map<number, Map<string, Buffer>>; old: Map<string, Buffer> }): Promise<Result<BlobRef, WeldError>> {
  const entries: TarEntry[] = [];
  for (const e of opts.layer.entries) {
    const t: TarEntry = { path: e.path, type: e.type, mode: e.mode, ...(e.link !== undefined ? { link: e.link } : {}) };
    if (e.type === 'file' && e.source) {
      // bytes from this run were hashed into the tree; old-layer bytes were checked in contentOf
      const data = opts.bytes.get(e.source.deb)?.get(e.source.path) ?? opts.old.get(e.path);
      if (!data) throw new Error(`bug: no bytes for ${e.path}`);
      t.data = data;
    }
    entries.push(t);
  }
  const put = await opts.store.put(tarChunks(entries), { label: `env layer ${opts.layer.bucket}` });
  if (!put.ok) return put;
  return ok({ digest: put.value.digest, size: put.value.size });
}

/** Reads the debs at `which` (lock indexes), a few at a time: decompression runs in child processes. */
async function readDebs(opts: { store: Store; debs: LockedDeb[]; which: number[]; concurrency: number; onRead: (done: number, total: number) => void }): Promise<Result<Array<{ index: number; tree: DebTree; files: Map<string, Buffer> }>, WeldError>> {
  const limit = pLimit(opts.concurrency);
  let done = 0;
  // the biggest first, so that no core is left alone with gcc at the end
  const order = [...opts.which].sort((a, b) => opts.debs[b]!.size - opts.debs[a]!.size || a - b);
  const results = await Promise.all(
    order.map((index) =>
      limit(async (): Promise<Result<{ index: number; tree: DebTree; files: Map<string, Buffer> }, WeldError>> => {
        const d = opts.debs[index]!;
        const stat = await opts.store.stat(`sha256:${d.sha256}`);
        if (!stat.ok) return stat;
        const bytes = await readFile(stat.value.path);
        const actual = createHash('sha256').update(bytes).digest('hex');
        if (actual !== d.sha256) return err(new DebDigestMismatchError(d.path, d.sha256, actual));
        const entries = await readDeb({ name: d.path, bytes, scratch: tmpName(opts.store.layout, 'deb-data') });
        if (!entries.ok) return entries;
        opts.onRead(++done, opts.which.length);
        const files = new Map<string, Buffer>();
        for (const e of entries.value) if (e.type === 'file') files.set(e.path, e.data ?? Buffer.alloc(0));
        return ok({ index, tree: treeOf({ sha256: d.sha256, entries: entries.value }), files });
      }),
    ),
  );
  const failed = results.find((r) => !r.ok);
  if (failed && !failed.ok) return err(failed.error);
  return ok(results.map((r) => (r as { ok: true; value: { index: number; tree: DebTree; files: Map<string, Buffer> } }).value));
}
