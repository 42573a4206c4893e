import pLimit from 'p-limit';
import { err, ok, type Result } from '../../core/result.js';
import { sha256Of } from '../../core/digest.js';
import { isDigest, type Digest } from '../digest.js';
import { DigestMismatchError, RecordInvalidError } from '../errors.js';
import { referencedDigests, validateRecord, type RecordOrigin, type RecordTypes, type StoredRecord } from '../records.js';
import type { IndexError, Store } from '../store.js';
import type { RemoteError } from './client.js';
import { openEnvelope } from './dsse.js';
import { RemoteBlobError, RemoteManifestError, UntrustedRecordError } from './errors.js';
import { MANIFEST_TYPE, RECORD_CONFIG_TYPE, RECORD_PAYLOAD_TYPE, signedRecordTag, type SignedKind } from './layout.js';
import type { Remote } from './remote.js';

export type PullError = RemoteError | RemoteManifestError | UntrustedRecordError | RemoteBlobError | RecordInvalidError | IndexError;


export interface Substituted<K extends SignedKind = SignedKind> {
  record: RecordTypes[K];
  blobsFetched: number;
  bytesFetched: number;
}

/**
 * A kind's own check of a verified record whose blobs are in the store, before it is
 * written (an env image: its manifest names the config and layers the record does); a
 * sentence says what is wrong, and the record is refused.
 */
export type RecordCheck<K extends SignedKind> = (record: StoredRecord<K>, store: Store) => Promise<string | undefined>;

const MAX_CONFIG = 4 * 2 ** 20;

/**
 * Takes records from a remote into the store: the manifest under the record's tag, its
 * signed config opened with the trusted keys, then every blob the (signed) record names
 * that the store lacks, each hashed as it streams in and refused unless it matches; the
 * record is written last, with its origin. Blobs come several at a time. Builds and tests
 * are found by their keys, env images by their records' ids (layout.ts signedRecordTag).
 */
export class Puller {
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly inflight = new Map<string, Promise<Result<number, PullError>>>();
  /** records at once: a thousand look-ups are not a thousand requests in flight */
  private readonly records: ReturnType<typeof pLimit>;

  constructor(
    private readonly remote: Remote,
    private readonly store: Store,
  ) {
    this.limit = pLimit(remote.config.concurrency ?? 4);
    this.records = pLimit(2 * (remote.config.concurrency ?? 4));
  }

  /** undefined: the remote has no record of that id. */
  async pull<K extends SignedKind>(kind: K, id: string, opts: { check?: RecordCheck<K> } = {}): Promise<Result<Substituted<K> | undefined, PullError>> {
    return (await this.pullMany(kind, [id], opts))[0]!;
  }

  /**
   * Several records at once, one result each, in order. Their blobs come concurrently and
   * the records are written in one batch at the end (an index session per record cost more
   * than a small record's blobs); a record whose blobs failed is not written.
   */
  async pullMany<K extends SignedKind>(kind: K, ids: readonly string[], opts: { check?: RecordCheck<K> } = {}): Promise<Array<Result<Substituted<K> | undefined, PullError>>> {
    const fetched = await Promise.all(ids.map((id) => this.records(() => this.fetchWithBlobs(kind, id, opts.check))));
    const ready = fetched.flatMap((f, i) => (f.ok && f.value ? [{ i, value: f.value }] : []));
    if (ready.length === 0) return fetched;
    const written = await this.store.writeRecords(ready.map(({ i, value }) => ({ kind, id: ids[i]!, data: value.record }) as never));
    if (!written.ok) return fetched.map((f) => (f.ok && f.value ? written : f));
    return fetched;
  }

  private async fetchWithBlobs<K extends SignedKind>(kind: K, id: string, check?: RecordCheck<K>): Promise<Result<Substituted<K> | undefined, PullError>> {
    const got = await this.fetchRecord(kind, id);
    if (!got.ok) return got;
    if (got.value === undefined) return ok(undefined);
    const { record, keyId } = got.value;
    const digests = referencedDigests(record);
    const present = await Promise.all(digests.map((d) => this.store.has(d)));
    const missing = digests.filter((_, i) => !present[i]);
    const fetched = await Promise.all(missing.map((d) => this.blob(d)));
    const bad = fetched.find((f) => !f.ok);
    if (bad && !bad.ok) return bad;
    const wrong = check ? await check(record, this.store) : undefined;
    if (wrong) return err(new RemoteManifestError(this.remote.config.url.text, signedRecordTag(kind, id), wrong));
    const origin: RecordOrigin = { remote: this.remote.config.url.text, keyId, pulledAt: new Date().toISOString() };
    const data = { ...(record.data as object), origin } as unknown as RecordTypes[K];
    return ok({ record: data, blobsFetched: missing.length, bytesFetched: fetched.reduce((n, f) => n + (f.ok ? f.value : 0), 0) });
  }

  /** The verified record under a tag, not yet in the store; undefined when the tag is not there. */
  async fetchRecord<K extends SignedKind>(kind: K, id: string): Promise<Result<{ record: StoredRecord<K>; keyId: string } | undefined, PullError>> {
    const tag = signedRecordTag(kind, id);
    const remote = this.remote.config.url.text;
    const m = await this.remote.client.getManifest(tag);
    if (!m.ok || m.value === undefined) return m as Result<undefined, RemoteError>;
    const bad = (reason: string) => err(new RemoteManifestError(remote, tag, reason));
    let manifest: { mediaType?: unknown; config?: { mediaType?: unknown; digest?: unknown; size?: unknown } };
    try {
      manifest = JSON.parse(m.value.body.toString('utf8')) as typeof manifest;
    } catch {
      return bad('the manifest is not JSON');
    }
    if (manifest.mediaType !== undefined && manifest.mediaType !== MANIFEST_TYPE) return bad(`the manifest is ${String(manifest.mediaType)}, not an OCI image manifest`);
    const cfg = manifest.config;
    if (!cfg || cfg.mediaType !== RECORD_CONFIG_TYPE || !isDigest(cfg.digest)) return bad(`its config is not a weld record (${RECORD_CONFIG_TYPE})`);
    if (typeof cfg.size === 'number' && cfg.size > MAX_CONFIG) return bad(`its config is ${cfg.size} bytes; a record is never more than ${MAX_CONFIG}`);
    const body = await this.readSmallBlob(cfg.digest);
    if (!body.ok) return body;
    let envelope: unknown;
    try {
      envelope = JSON.parse(body.value.toString('utf8'));
    } catch {
      return bad('its config is not JSON');
    }
    const opened = openEnvelope({ envelope, payloadType: RECORD_PAYLOAD_TYPE, trusted: this.remote.config.trusted });
    if (!opened.ok) return err(new UntrustedRecordError(remote, tag, opened.error.keyIds, opened.error.reason));
    let payload: { kind?: unknown; id?: unknown; data?: unknown };
    try {
      payload = JSON.parse(opened.value.toString('utf8')) as typeof payload;
    } catch {
      return bad('the signed record is not JSON');
    }
    // Signed, but for another key: a valid record replayed under this tag is refused.
    if (payload.kind !== kind || payload.id !== id) return bad(`the signed record is ${String(payload.kind)} ${String(payload.id)}, not the ${kind} this tag names`);
    if (typeof payload.data !== 'object' || payload.data === null) return bad('the signed record has no data');
    const record = { kind, id, data: payload.data as RecordTypes[K] } as StoredRecord<K>;
    const valid = validateRecord(record);
    if (!valid.ok) return bad(valid.error.message);
    const keyId = ((envelope as { signatures: Array<{ keyid: string }> }).signatures.find((s) => this.remote.config.trusted.has(s.keyid)) ?? { keyid: '?' }).keyid;
    return ok({ record, keyId });
  }

  private async readSmallBlob(d: Digest): Promise<Result<Buffer, PullError>> {
    const remote = this.remote.config.url.text;
    const s = await this.remote.client.getBlob(d);
    if (!s.ok) return s;
    if (!s.value) return err(new RemoteBlobError(remote, d, 'the registry does not have it'));
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of s.value) {
      size += (c as Buffer).byteLength;
      if (size > MAX_CONFIG) {
        s.value.destroy();
        return err(new RemoteBlobError(remote, d, `it is larger than ${MAX_CONFIG} bytes`));
      }
      chunks.push(c as Buffer);
    }
    const bytes = Buffer.concat(chunks);
    const actual = sha256Of(bytes);
    if (actual !== d) return err(new RemoteBlobError(remote, d, `its bytes hash to ${actual}`));
    return ok(bytes);
  }

  /** Streams one blob into the store, verified; the number of bytes. Shared by records that name the same blob. */
  private blob(d: Digest): Promise<Result<number, PullError>> {
    let p = this.inflight.get(d);
    if (!p) {
      p = this.limit(async () => {
        const remote = this.remote.config.url.text;
        const s = await this.remote.client.getBlob(d);
        if (!s.ok) return s;
        if (!s.value) return err(new RemoteBlobError(remote, d, 'the registry does not have it, though a record names it'));
        const put = await this.store.put(s.value, { expected: d, label: `${remote} blob ${d}` });
        if (!put.ok) {
          s.value.destroy();
          const e = put.error;
          return err(e instanceof DigestMismatchError ? new RemoteBlobError(remote, d, `its bytes hash to ${e.actual}`) : new RemoteBlobError(remote, d, e.message));
        }
        return ok(put.value.size);
      });
      this.inflight.set(d, p);
    }
    return p;
  }
}
