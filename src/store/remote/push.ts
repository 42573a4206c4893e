import pLimit from 'p-limit';
import { err, ok, type Result } from '../../core/result.js';
import { sha256Of } from '../../core/digest.js';
import { isDigest, type Digest } from '../digest.js';
import { referencedDigests, type EnvImageRecord, type StoredRecord } from '../records.js';
import type { Store } from '../store.js';
import { BlobNotFoundError } from '../errors.js';
import type { RemoteError } from './client.js';
import { signEnvelope } from './dsse.js';
import { KeyError, PushSourceError } from './errors.js';
import { BLOB_LAYER_TYPE, envRecordTag, envTag, INDEX_TYPE, isRemoteKind, MANIFEST_TYPE, namedTag, RECORD_CONFIG_TYPE, RECORD_PAYLOAD_TYPE, recordManifest, recordTag, signedBody, TITLE_ANNOTATION, WHEELHOUSE_ARTIFACT_TYPE, type Descriptor } from './layout.js';
import type { Remote } from './remote.js';

export type PushError = RemoteError | KeyError | BlobNotFoundError | PushSourceError;

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

  /** Pushes one build or test record; env images (and their records) go through pushEnvImage, composes through pushCompose. */
  pushRecord(record: StoredRecord): Promise<Result<string, PushError>> {
    if (!isRemoteKind(record.kind)) throw new Error(`bug: ${record.kind} records are not pushed as records`);
    const tag = recordTag(record.kind, record.id as Digest);
    return this.records(() => this.pushSigned({ record, tag, layers: referencedDigests(record).map((digest) => ({ digest })) }));
  }

  /**
   * A compose as what it is: an image compose as the image (or image index) it made,
   * tagged image-<name>-<digest12>; a wheelhouse as its compose record, signed, whose
   * layers are the files of its tree, tagged wheelhouse-<name>-<12 hex of manifest.json>.
   */
  pushCompose(record: StoredRecord<'compose'>): Promise<Result<string, PushError>> {
    const c = record.data;
    if (c.type === 'image') return this.pushImage({ tag: namedTag('image', c.name, c.manifest), manifest: c.manifest });
    if (!c.files) return Promise.resolve(err(new PushSourceError(`wheelhouse ${c.name}`, 'its compose record does not list the tree (an older weld wrote it)', `compose it again (\`weld compose wheelhouse ${c.name}\`), then push`)));
    const layers = c.files.map((f) => ({ digest: f.digest, annotations: { [TITLE_ANNOTATION]: f.path } }));
    return this.records(() => this.pushSigned({ record, tag: namedTag('wheelhouse', c.name, c.manifest), layers, artifactType: WHEELHOUSE_ARTIFACT_TYPE }));
  }

  /** A record as an image manifest: its config the record, signed; its layers the blobs it names. */
  private async pushSigned(o: { record: StoredRecord; tag: string; layers: Array<{ digest: Digest; annotations?: Record<string, string> }>; artifactType?: string }): Promise<Result<string, PushError>> {
    const key = this.remote.config.signingKey;
    if (!key) return err(new KeyError('weld store push', 'no signing key: records are pushed signed, so that others can trust them', 'make one with `weld key generate`, or point WELD_SIGNING_KEY (--signing-key) at one'));
    const { tag } = o;
    const there = await this.remote.client.hasManifest(tag);
    if (!there.ok) return there;
    if (there.value) {
      this.report.present.push(tag);
      return ok(tag);
    }
    const envelope = Buffer.from(JSON.stringify(signEnvelope({ payloadType: RECORD_PAYLOAD_TYPE, body: signedBody(o.record), keyid: key.name, key: key.key })));
    const config = await this.pushBytes(envelope, RECORD_CONFIG_TYPE);
    if (!config.ok) return config;
    const layers = await Promise.all(o.layers.map((l) => this.blob(l.digest, BLOB_LAYER_TYPE)));
    const bad = layers.find((l) => !l.ok);
    if (bad && !bad.ok) return bad;
    const blobs = layers.map((l, i) => ({ ...(l as { value: Descriptor }).value, ...(o.layers[i]!.annotations ? { annotations: o.layers[i]!.annotations } : {}) }));
    const manifest = recordManifest({ record: o.record, config: config.value, blobs, ...(o.artifactType ? { artifactType: o.artifactType } : {}) });
    const put = await this.remote.client.putManifest(tag, manifest, MANIFEST_TYPE);
    if (!put.ok) return put;
    this.report.pushed.push(tag);
    return ok(tag);
  }

  /**
   * An env image twice over: as the image it is, tagged env-<name>-<digest12>, for podman
   * to pull; then its record, signed, tagged by the record's id (envRecordTag), for another
   * machine's weld to find by its lock and trust as it trusts builds. The record's layers
   * are the image's blobs (and its lock and manifest), HEAD first, so they are not sent
   * twice. The record goes up last: it names the image, which is there by then.
   */
  async pushEnvImage(o: { id: string; record: EnvImageRecord }): Promise<Result<string, PushError>> {
    const image = await this.pushImage({ tag: envTag(o.record.env, o.record.manifest), manifest: o.record.manifest });
    if (!image.ok) return image;
    return this.pushEnvRecord(o);
  }

  /** An env image's signed record alone (its image pushed first, by pushImage). */
  pushEnvRecord(o: { id: string; record: EnvImageRecord }): Promise<Result<string, PushError>> {
    const record: StoredRecord<'env'> = { kind: 'env', id: o.id, data: o.record };
    return this.records(() => this.pushSigned({ record, tag: envRecordTag(o.id), layers: referencedDigests(record).map((digest) => ({ digest })) }));
  }

  /**
   * An image (or image index) from the store as the registry's own kind of thing, so
   * podman pulls it: under `tag`, unless the tag is there already.
   */
  async pushImage(o: { tag: string; manifest: Digest }): Promise<Result<string, PushError>> {
    const there = await this.remote.client.hasManifest(o.tag);
    if (!there.ok) return there;
    if (there.value) {
      this.report.present.push(o.tag);
      return ok(o.tag);
    }
    const put = await this.putImage(o.manifest, o.tag);
    if (!put.ok) return put;
    this.report.pushed.push(o.tag);
    return ok(o.tag);
  }

  /**
   * The blobs of an image, then its manifest under `ref`; an index's children first, each
   * by its digest (the ones the registry lacks), so the index never names a missing image.
   */
  private async putImage(digest: Digest, ref: string): Promise<Result<void, PushError>> {
    const bytes = await this.readBlob(digest);
    if (!bytes.ok) return bytes;
    let doc: { mediaType?: string; config?: { digest?: unknown }; layers?: Array<{ digest?: unknown }>; manifests?: Array<{ digest?: unknown }> };
    try {
      doc = JSON.parse(bytes.value.toString('utf8')) as typeof doc;
    } catch {
      return err(new PushSourceError(`image ${digest}`, 'its manifest in the store is not JSON'));
    }
    const digests = (list: Array<{ digest?: unknown }> | undefined) => (list ?? []).map((d) => d.digest).filter((d): d is Digest => isDigest(d));
    if (Array.isArray(doc.manifests)) {
      const children = await Promise.all(
        digests(doc.manifests).map(async (child): Promise<Result<void, PushError>> => {
          const has = await this.remote.client.hasManifest(child);
          if (!has.ok) return has;
          return has.value ? ok(undefined) : this.putImage(child, child);
        }),
      );
      const bad = children.find((c) => !c.ok);
      if (bad && !bad.ok) return bad;
    } else {
      if (!isDigest(doc.config?.digest)) return err(new PushSourceError(`image ${digest}`, 'its manifest names no config'));
      const parts = await Promise.all([doc.config.digest as Digest, ...digests(doc.layers)].map((d) => this.blob(d, BLOB_LAYER_TYPE)));
      const bad = parts.find((l) => !l.ok);
      if (bad && !bad.ok) return bad;
    }
    const mediaType = doc.mediaType ?? (Array.isArray(doc.manifests) ? INDEX_TYPE : MANIFEST_TYPE);
    return this.remote.client.putManifest(ref, bytes.value, mediaType);
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
