import { AsyncLocalStorage } from 'node:async_hooks';
import type { ReadStream } from 'node:fs';
import { err, ok, type Result } from '../core/result.js';
import { getBlob, hasBlob, putBlob, statBlob, touchBlobs, type BlobStat, type PutError, type PutOptions, type PutResult, type PutSource } from './blobs.js';
import type { Digest } from './digest.js';
import type { BlobNotFoundError, RecordDecodeError, RecordInvalidError, StoreBusyError, StoreIOError, StoreNotFoundError, StorePathError } from './errors.js';
import type { GcOptions, GcReport } from './gc.js';
import { IndexSession, type RecordInput } from './index.js';
import type { IngestResult } from './ingest.js';
import { blobPath, cleanTmp, prepareLayout, type Layout } from './layout.js';
import { closeIndex, openIndex } from './lock.js';
import type { RecordKind, StoredRecord } from './records.js';
import type { VerifyOptions, VerifyReport } from './verify.js';

export interface OpenStoreOptions {
  path: string;
  /** make the directories when they are missing (default true); read-only verbs pass false */
  create?: boolean;
  /** how long to wait for another process that holds the index (default 5 minutes) */
  lockTimeoutMs?: number;
  /** told who holds the index when we have to wait for it */
  onWait?: (holder: string) => void;
}

export type IndexError = StoreBusyError | StoreIOError;

/**
 * The content store. Blobs need no lock (a blob appears by an atomic link and never
 * changes); the index is opened per operation, so any number of weld processes can
 * share a store and each waits its turn only for index reads and writes.
 */
export class Store {
  /** tmp files of crashed processes removed when this store was opened */
  cleanedTmp = 0;
  /** the end of the last queued session: this process's sessions run one after another */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly session = new AsyncLocalStorage<true>();

  constructor(
    readonly layout: Layout,
    private readonly opts: OpenStoreOptions,
  ) {}

  get path(): string {
    return this.layout.root;
  }

  has(digest: Digest): Promise<boolean> {
    return hasBlob(this.layout, digest);
  }

  stat(digest: Digest): Promise<Result<BlobStat, BlobNotFoundError>> {
    return statBlob(this.layout, digest);
  }

  get(digest: Digest): Promise<Result<ReadStream, BlobNotFoundError>> {
    return getBlob(this.layout, digest);
  }

  put(source: PutSource, opts: PutOptions = {}): Promise<Result<PutResult, PutError>> {
    return putBlob(this.layout, source, opts);
  }

  /** Puts many files at once, skipping the read of files unchanged since they were last put. */
  // ingest, verify and gc load when called: most commands open a store to read a few records.
  async putFiles(opts: { files: string[]; concurrency?: number; workers?: number }): Promise<IngestResult[]> {
    const { ingestFiles } = await import('./ingest.js');
    return ingestFiles({ layout: this.layout, ...opts, withIndex: (fn) => this.withIndex('put', fn) });
  }

  /**
   * Takes in files just written by the caller, read-only and never to be changed, whose
   * digests it computed from the bytes it wrote: one flush, then a hard link each.
   * Result per file: true when the blob was there already.
   */
  async adoptFiles(opts: { files: Array<{ file: string; digest: Digest }>; concurrency?: number }): Promise<Array<Result<boolean, StoreIOError>>> {
    const { adoptFiles } = await import('./ingest.js');
    return adoptFiles({ layout: this.layout, ...opts });
  }

  /** Where the blob `digest` is (or would be) stored; no file system access. */
  blobPath(digest: Digest): string {
    return blobPath(this.layout, digest);
  }

  /**
   * Runs `fn` while this process holds the index. Keep `fn` short: other processes
   * wait for it. Sessions of one process queue here, in call order (LevelDB admits one
   * opener), so callers never queue them; they do not nest (the inner one would wait
   * for the outer forever).
   */
  withIndex<T>(purpose: string, fn: (s: IndexSession) => Promise<T>): Promise<Result<T, IndexError>> {
    if (this.session.getStore()) return Promise.reject(new Error('bug: Store.withIndex called inside another withIndex'));
    const run = async (): Promise<Result<T, IndexError>> => {
      const db = await openIndex({ layout: this.layout, purpose, ...this.waitOptions() });
      if (!db.ok) return db;
      try {
        return ok(await this.session.run(true, () => fn(new IndexSession(db.value, this.layout))));
      } finally {
        // Sessions run one at a time, so none is inside another now. An enabled
        // AsyncLocalStorage hooks every promise the process makes (node 20): a no-op build
        // of 1,000 packages paid ~30 ms for it in the executor, after the last session.
        this.session.disable();
        await closeIndex({ layout: this.layout, db: db.value });
      }
    };
    const turn = this.queue.then(run, run);
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /**
   * Keeps blobs through gc's grace period from now, for a caller that uses blobs a record
   * does not name yet (it will write that record shortly). Missing blobs are skipped.
   */
  keepAlive(digests: Iterable<Digest>): Promise<void> {
    return touchBlobs(this.layout, digests);
  }

  writeRecords(records: RecordInput[]): Promise<Result<void, IndexError | RecordInvalidError>> {
    return this.flat('write records', (s) => s.writeRecords(records));
  }

  getRecord<K extends RecordKind>(kind: K, id: string): Promise<Result<StoredRecord<K> | undefined, IndexError | RecordDecodeError>> {
    return this.flat('read a record', (s) => s.get(kind, id));
  }

  async listRecords(opts: { kind?: RecordKind } = {}): Promise<Result<Array<Result<StoredRecord, RecordDecodeError>>, IndexError>> {
    return this.withIndex('list records', async (s) => {
      const out: Array<Result<StoredRecord, RecordDecodeError>> = [];
      for await (const r of s.list(opts)) out.push(r);
      return out;
    });
  }

  buildsOf(pkg: string): Promise<Result<string[], IndexError>> {
    return this.withIndex('read builds', (s) => s.buildsOf(pkg));
  }

  /** Names a set of blobs so gc keeps them; replaces an existing root of that name. */
  setRoot(opts: { name: string; digests: Digest[] }): Promise<Result<void, IndexError | RecordInvalidError>> {
    return this.writeRecords([{ kind: 'root', id: opts.name, data: { name: opts.name, digests: opts.digests, createdAt: new Date().toISOString() } }]);
  }

  removeRoot(name: string): Promise<Result<void, IndexError>> {
    return this.flat('remove a root', (s) => s.delete([`r/root/${name}`]));
  }

  async verify(opts: VerifyOptions = {}): Promise<Result<VerifyReport, IndexError>> {
    const { verify } = await import('./verify.js');
    return verify({ store: this, ...opts });
  }

  async gc(opts: GcOptions = {}): Promise<Result<GcReport, IndexError>> {
    const { gc } = await import('./gc.js');
    return gc({ store: this, ...opts });
  }

  private async flat<T, E>(purpose: string, fn: (s: IndexSession) => Promise<Result<T, E>>): Promise<Result<T, E | IndexError>> {
    const r = await this.withIndex(purpose, fn);
    return r.ok ? r.value : r;
  }

  private waitOptions() {
    return {
      ...(this.opts.lockTimeoutMs !== undefined ? { timeoutMs: this.opts.lockTimeoutMs } : {}),
      ...(this.opts.onWait ? { onWait: this.opts.onWait } : {}),
    };
  }
}

/** Checks the layout (creating it unless `create: false`) and clears crashed writers' tmp files. */
export async function openStore(opts: OpenStoreOptions): Promise<Result<Store, StorePathError | StoreNotFoundError>> {
  const layout = await prepareLayout({ root: opts.path, create: opts.create ?? true });
  if (!layout.ok) return err(layout.error);
  const store = new Store(layout.value, opts);
  store.cleanedTmp = await cleanTmp(layout.value);
  return ok(store);
}
