import pLimit from 'p-limit';
import { err, ok, type Result } from '../../core/result.js';
import { sha256Of } from '../../core/digest.js';
import type { Digest } from '../digest.js';
import { referencedDigests, type EnvImageRecord, type StoredRecord } from '../records.js';
import type { Store } from '../store.js';
import { BlobNotFoundError } from '../errors.js';
import type { RemoteError } from './client.js';
import { signEnvelope } from './dsse.js';
import { KeyError } from './errors.js';
import { BLOB_LAYER_TYPE, envTag, isRemoteKind, RECORD_CONFIG_TYPE, RECORD_PAYLOAD_TYPE, recordManifest, recordTag, signedBody, type Descriptor } from './layout.js';
import type { Remote } from './remote.js';

export type PushError = RemoteError | KeyError | BlobNotFoundError;

export interface PushReport {
  /** tags whose manifest went up */
  pushed: string[];
  /** tags the registry had already: nothing was sent */
  present: string[];
  blobsUploaded: number;
  blobsMounted: number;
  /** blobs the registry had (HEAD answered 200) */
  blobsPresent: number;
  bytesUploaded: number;
}

/**
 * Pushes records and the blobs they name. Per record: is its tag there (then nothing
 * to do); else every blob the registry lacks goes up, several at a time, and the
 * manifest last, so a push cut short leaves blobs nobody names and no visible record.
 * A blob shared by several records goes up once.
 */
export class Pusher {
  readonly report: PushReport = { pushed: [], present: [], blobsUploaded: 0, blobsMounted: 0, blobsPresent: 0, bytesUploaded: 0 };
  private readonly blobs = new Map<string, Promise<Result<Descriptor, PushError>>>();
  private readonly limit: ReturnType<typeof pLimit>;
  /** records at once: each holds requests open while its blobs go up */
  private readonly records: ReturnType<typeof pLimit>;

  constructor(
    private readonly remote: Remote,
    private readonly store: Store,
    /** repositories of the same registry to mount blobs from before uploading */
    private readonly mountFrom: string[] = [],
  ) {
    this.limit = pLimit(remote.config.concurrency ?? 4);
    this.records = pLimit(2 * (remote.config.concurrency ?? 4));
  }

  /** Pushes one build or test record; env images go through pushEnvImage. */
  pushRecord(record: StoredRecord): Promise<Result<string, PushError>> {
    return this.records(() => this.pushOne(record));
  }

  private async pushOne(record: StoredRecord): Promise<Result<string, PushError>> {
    if (!isRemoteKind(record.kind)) throw new Error(`bug: ${record.kind} records are not pushed as records`);
    const key = this.remote.config.signingKey;
    if (!key) return err(new KeyError('weld store push', 'no signing key: records are pushed signed, so that others can trust them', 'make one with `weld key generate`, or point WELD_SIGNING_KEY (--signing-key) at one'));
    const tag = recordTag(record.kind, record.id as Digest);
    const there = await this.remote.client.hasManifest(tag);
    if (!there.ok) return there;
    if (there.value) {
      this.report.present.push(tag);
      return ok(tag);
    }
    const envelope = Buffer.from(JSON.stringify(signEnvelope({ payloadType: RECORD_PAYLOAD_TYPE, body: signedBody(record), keyid: key.name, key: key.key })));
    const config = await this.pushBytes(envelope, RECORD_CONFIG_TYPE);
    if (!config.ok) return config;
    const layers = await Promise.all(referencedDigests(record).map((d) => this.blob(d, BLOB_LAYER_TYPE)));
    const bad = layers.find((l) => !l.ok);
    if (bad && !bad.ok) return bad;
    const manifest = recordManifest({ record, config: config.value, blobs: layers.map((l) => (l as { value: Descriptor }).value) });
    const put = await this.remote.client.putManifest(tag, manifest, 'application/vnd.oci.image.manifest.v1+json');
    if (!put.ok) return put;
    this.report.pushed.push(tag);
    return ok(tag);
  }

  /** An env image as the image it is: its layers, config and own manifest, tagged env-<name>-<digest12>. */
  async pushEnvImage(env: EnvImageRecord): Promise<Result<string, PushError>> {
    const tag = envTag(env.env, env.manifest);
    const there = await this.remote.client.hasManifest(tag);
    if (!there.ok) return there;
    if (there.value) {
      this.report.present.push(tag);
      return ok(tag);
    }
    const parts = await Promise.all([env.config, ...env.layers].map((d) => this.blob(d, BLOB_LAYER_TYPE)));
    const bad = parts.find((l) => !l.ok);
    if (bad && !bad.ok) return bad;
    const manifest = await this.readBlob(env.manifest);
    if (!manifest.ok) return manifest;
    const mediaType = (JSON.parse(manifest.value.toString('utf8')) as { mediaType?: string }).mediaType ?? 'application/vnd.oci.image.manifest.v1+json';
    const put = await this.remote.client.putManifest(tag, manifest.value, mediaType);
    if (!put.ok) return put;
    this.report.pushed.push(tag);
    return ok(tag);
  }

  private async readBlob(d: Digest): Promise<Result<Buffer, BlobNotFoundError>> {
    const s = await this.store.get(d);
    if (!s.ok) return s;
    const chunks: Buffer[] = [];
    for await (const c of s.value) chunks.push(c as Buffer);
    return ok(Buffer.concat(chunks));
  }

  private pushBytes(bytes: Buffer, mediaType: string): Promise<Result<Descriptor, PushError>> {
    const digest = sha256Of(bytes);
    return this.once(digest, async () => {
      const has = await this.remote.client.hasBlob(digest);
      if (!has.ok) return has;
      if (!has.value) {
        const up = await this.remote.client.pushBlob({ digest, size: bytes.byteLength, open: () => bytes });
        if (!up.ok) return up;
        this.report.blobsUploaded++;
        this.report.bytesUploaded += bytes.byteLength;
      } else this.report.blobsPresent++;
      return ok({ mediaType, digest, size: bytes.byteLength });
    });
  }

  private blob(digest: Digest, mediaType: string): Promise<Result<Descriptor, PushError>> {
    return this.once(digest, async () => {
      const st = await this.store.stat(digest);
      if (!st.ok) return st;
      const size = st.value.size;
      const has = await this.remote.client.hasBlob(digest);
      if (!has.ok) return has;
      if (has.value) {
        this.report.blobsPresent++;
        return ok({ mediaType, digest, size });
      }
      for (const from of this.mountFrom) {
        const m = await this.remote.client.pushBlob({ digest, size, open: () => Buffer.alloc(0), mountFrom: from });
        if (m.ok && m.value === 'mounted') {
          this.report.blobsMounted++;
          return ok({ mediaType, digest, size });
        }
      }
      const { createReadStream } = await import('node:fs');
      const up = await this.remote.client.pushBlob({ digest, size, open: () => createReadStream(st.value.path, { highWaterMark: 1 << 20 }) });
      if (!up.ok) return up;
      this.report.blobsUploaded++;
      this.report.bytesUploaded += size;
      return ok({ mediaType, digest, size });
    });
  }

  private once(digest: string, fn: () => Promise<Result<Descriptor, PushError>>): Promise<Result<Descriptor, PushError>> {
    let p = this.blobs.get(digest);
    if (!p) this.blobs.set(digest, (p = this.limit(fn)));
    return p;
  }
}
