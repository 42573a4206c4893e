import { existsSync } from 'node:fs';
import { err, ok, type Result } from '../core/result.js';
import type { Digest } from './digest.js';
import { RecordDecodeError, RecordInvalidError, StoreIOError, describe } from './errors.js';
import { blobPath, type Layout } from './layout.js';
import type { IndexDB } from './lock.js';
import {
  isBrokenEncoding,
  decodeRecord,
  encodeRecord,
  RECORD_KINDS,
  RECORD_PREFIX,
  recordKey,
  referencedDigests,
  secondaryKeys,
  validateRecord,
  type BuildRecord,
  type TestRecord,
  type RecordKind,
  type StoredRecord,
} from './records.js';

/** A record to write: kind, id and data (a `broken` mark is only ever set by verify). */
export type RecordInput = { [K in RecordKind]: { kind: K; id: string; data: StoredRecord<K>['data'] } }[RecordKind];

/** The index while this process holds it; every method is one read or one atomic batch. */
export class IndexSession {
  constructor(
    readonly db: IndexDB,
    readonly layout: Layout,
  ) {}

  /**
   * Writes all records or none. Every blob they name must be in the store already:
   * holding the index while checking is what keeps gc (which also holds it) from
   * deleting a blob between the check and the write.
   */
  async writeRecords(records: RecordInput[]): Promise<Result<void, RecordInvalidError | StoreIOError>> {
    const ops: Array<{ type: 'put'; key: string; value: string } | { type: 'del'; key: string }> = [];
    // Records of one batch name many of the same blobs (env image, recipe): stat each once.
    // A wheelhouse's record names thousands of blobs. Each check is one stat, made on
    // this thread: through the thread pool 4,000 took ~100 ms, directly ~15 ms.
    const seen = new Map<Digest, boolean>();
    const present = (d: Digest) => seen.get(d) ?? seen.set(d, existsSync(blobPath(this.layout, d))).get(d)!;
    const olds = await this.db.getMany(records.map((r) => recordKey(r.kind, r.id)));
    for (const [n, input] of records.entries()) {
      const r = { kind: input.kind, id: input.id, data: input.data } as StoredRecord;
      const valid = validateRecord(r);
      if (!valid.ok) return valid;
      const digests = referencedDigests(r);
      const missing = digests.filter((d) => !present(d));
      const key = recordKey(r.kind, r.id);
      if (missing.length) {
        return err(new RecordInvalidError(key, `it names ${missing.length === 1 ? 'a blob' : `${missing.length} blobs`} the store does not hold: ${missing.join(', ')}`, 'put the blobs first, then write the record (a gc may have removed them in between)'));
      }
      const oldValue = olds[n];
      const old = oldValue === undefined ? undefined : decodeRecord(key, oldValue);
      if (old?.ok) for (const k of secondaryKeys(old.value)) ops.push({ type: 'del', key: k });
      ops.push({ type: 'put', key, value: encodeRecord(r) });
      for (const k of secondaryKeys(r)) ops.push({ type: 'put', key: k, value: '' });
    }
    return this.batch(ops);
  }

  async get<K extends RecordKind>(kind: K, id: string): Promise<Result<StoredRecord<K> | undefined, RecordDecodeError | StoreIOError>> {
    const key = recordKey(kind, id);
    let value: string | undefined;
    try {
      value = await this.db.get(key);
    } catch (e: unknown) {
      return err(new StoreIOError(this.layout.index, describe(e)));
    }
    if (value === undefined) return ok(undefined);
    return decodeRecord(key, value) as Result<StoredRecord<K>, RecordDecodeError>;
  }

  /** Which of these ids have a record of `kind` that is not broken; one round trip. */
  async hasMany(kind: RecordKind, ids: string[]): Promise<boolean[]> {
    const values = await this.db.getMany(ids.map((id) => recordKey(kind, id)));
    return values.map((v) => v !== undefined && !isBrokenEncoding(v));
  }

  /** Records in key order; ones that cannot be decoded come back as errors, not skipped. */
  async *list(opts: { kind?: RecordKind } = {}): AsyncGenerator<Result<StoredRecord, RecordDecodeError>> {
    const prefix = opts.kind ? `${RECORD_PREFIX}${opts.kind}/` : RECORD_PREFIX;
    for await (const [key, value] of this.entries(prefix)) yield decodeRecord(key, value);
  }

  /**
   * Entries under a prefix, up to 1 MiB per native call: with the 16 KiB default, a
   * 1,000-record listing took 60 round trips to LevelDB's thread.
   */
  private async *entries(prefix: string): AsyncGenerator<[string, string]> {
    const it = this.db.iterator({ gte: prefix, lt: prefix + '\xff', highWaterMarkBytes: 1 << 20 });
    try {
      for (;;) {
        const chunk = await it.nextv(1000);
        if (chunk.length === 0) return;
        yield* chunk;
      }
    } finally {
      await it.close();
    }
  }

  async *rawRecords(): AsyncGenerator<[string, string]> {
    yield* this.entries(RECORD_PREFIX);
  }

  /**
   * Build records by cache key, one round trip: what a build plan looks up. Missing,
   * broken and undecodable records are undefined (cache misses: the build runs again).
   */
  async buildRecords(keys: readonly string[]): Promise<Array<BuildRecord | undefined>> {
    const values = await this.db.getMany(keys.map((k) => recordKey('build', k)));
    return values.map((v, i) => usableBuild(recordKey('build', keys[i]!), v));
  }

  /** Test records by test key, one round trip; missing, broken and undecodable ones are undefined. */
  async testRecords(keys: readonly string[]): Promise<Array<TestRecord | undefined>> {
    const values = await this.db.getMany(keys.map((k) => recordKey('test', k)));
    return values.map((v, i) => usable<TestRecord>(recordKey('test', keys[i]!), v));
  }

  /** The most recently finished usable build of each package, through the package → builds keys. */
  async newestBuilds(pkgs: readonly string[]): Promise<Array<BuildRecord | undefined>> {
    return Promise.all(
      pkgs.map(async (pkg) => {
        const found = await this.buildRecords(await this.buildsOf(pkg));
        let newest: BuildRecord | undefined;
        for (const b of found) if (b && (!newest || newest.timings.finishedAt < b.timings.finishedAt)) newest = b;
        return newest;
      }),
    );
  }

  /** Cache keys of every build of `pkg`, through the package → builds secondary key. */
  async buildsOf(pkg: string): Promise<string[]> {
    const prefix = `x/package/${pkg}/`;
    const out: string[] = [];
    for await (const key of this.db.keys({ gte: prefix, lt: prefix + '\xff' })) out.push(key.slice(prefix.length));
    return out;
  }

  async counts(): Promise<Record<RecordKind, number> & { broken: number }> {
    const c = Object.fromEntries(RECORD_KINDS.map((k) => [k, 0])) as Record<RecordKind, number>;
    let broken = 0;
    for await (const r of this.list()) {
      if (!r.ok) continue;
      c[r.value.kind]++;
      if (r.value.broken) broken++;
    }
    return { ...c, broken };
  }

  async delete(keys: string[]): Promise<Result<void, StoreIOError>> {
    return this.batch(keys.map((key) => ({ type: 'del' as const, key })));
  }

  async getValue(key: string): Promise<string | undefined> {
    return this.db.get(key);
  }

  async batch(ops: Array<{ type: 'put'; key: string; value: string } | { type: 'del'; key: string }>): Promise<Result<void, StoreIOError>> {
    if (ops.length === 0) return ok(undefined);
    try {
      await this.db.batch(ops);
      return ok(undefined);
    } catch (e: unknown) {
      return err(new StoreIOError(this.layout.index, describe(e)));
    }
  }
}

function usableBuild(key: string, value: string | undefined): BuildRecord | undefined {
  return usable<BuildRecord>(key, value);
}

function usable<T>(key: string, value: string | undefined): T | undefined {
  if (value === undefined || isBrokenEncoding(value)) return undefined;
  const r = decodeRecord(key, value);
  return r.ok && !r.value.broken ? (r.value.data as T) : undefined;
}
