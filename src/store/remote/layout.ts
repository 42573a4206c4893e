import { canonicalJson, sha256Of } from '../../core/digest.js';
import type { Digest } from '../digest.js';
import type { RecordKind, StoredRecord } from '../records.js';

// How the store looks on a registry (after Spack's build caches): one OCI image manifest
// per record, tagged by what the record is found by, so a look-up is one manifest GET.
// Its config is the record, signed (a DSSE envelope); its layers are the blobs the record
// names. Env images and composed images (and image indexes) go up as the real images they
// are, for podman to pull, an env image's record beside it (signed, found by its lock:
// envRecordTag); a wheelhouse as a compose record whose layers are its files.

export const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';
/** the config: a DSSE envelope whose payload is the record's canonical JSON */
export const RECORD_CONFIG_TYPE = 'application/vnd.weld.record.v1+dsse+json';
export const RECORD_PAYLOAD_TYPE = 'application/vnd.weld.record.v1+json';
export const BLOB_LAYER_TYPE = 'application/vnd.weld.blob.v1';

/** Kinds that go to a registry as records: builds (substitution) and tests (their verdicts travel with the wheels). */
export const REMOTE_KINDS = ['build', 'test'] as const;
export type RemoteKind = (typeof REMOTE_KINDS)[number];

export function isRemoteKind(k: RecordKind): k is RemoteKind {
  return (REMOTE_KINDS as readonly string[]).includes(k);
}

/** `build-<64 hex>`: 70 characters, within the spec's 128. */
export function recordTag(kind: RemoteKind, id: Digest): string {
  return `${kind}-${id.slice('sha256:'.length)}`;
}

/** The kind and id a tag stands for, or undefined for tags that are not records (env images, others'). */
export function parseRecordTag(tag: string): { kind: RemoteKind; id: Digest } | undefined {
  const m = /^(build|test)-([0-9a-f]{64})$/.exec(tag);
  return m ? { kind: m[1] as RemoteKind, id: `sha256:${m[2]!}` } : undefined;
}

/**
 * Kinds of records a registry holds signed, each under a tag of its id: builds and tests
 * (`recordTag`) and env images' records (`envRecordTag`), whose ids are not digests.
 */
export type SignedKind = RemoteKind | 'env';

/**
 * `env-<64 hex of sha256(the env record's id)>`: the tag that finds an env image's signed
 * record by its lock (the id is `<env>@<lock hex>/c<composer>`, too long and not tag-safe).
 * One dash, so never an env image's `env-<name>-<12 hex>`.
 */
export function envRecordTag(id: string): string {
  return `env-${sha256Of(Buffer.from(id, 'utf8')).slice('sha256:'.length)}`;
}

export function isEnvRecordTag(tag: string): boolean {
  return /^env-[0-9a-f]{64}$/.test(tag);
}

/** The tag a signed record of this kind and id is found under. */
export function signedRecordTag(kind: SignedKind, id: string): string {
  return kind === 'env' ? envRecordTag(id) : recordTag(kind, id as Digest);
}

/** What a tag on the remote is, by its prefix: records, env images, composed images, wheelhouses. */
export const TAG_KINDS = ['build', 'test', 'env', 'image', 'wheelhouse'] as const;
export type TagKind = (typeof TAG_KINDS)[number];

/**
 * `<kind>-<name>-<first 12 hex of the digest>`: env and composed images (the digest of
 * their manifest or index) and wheelhouses (of their manifest.json). The name is cut to
 * keep the tag within the spec's 128 characters.
 */
export function namedTag(kind: 'env' | 'image' | 'wheelhouse', name: string, digest: string): string {
  return `${kind}-${name.toLowerCase().replace(/[^a-z0-9_.-]/g, '-').slice(0, 100)}-${digest.slice('sha256:'.length, 'sha256:'.length + 12)}`;
}

export function envTag(env: string, manifest: Digest): string {
  return namedTag('env', env, manifest);
}

/** The kind a tag stands for; undefined for tags weld did not make. */
export function tagKind(tag: string): TagKind | undefined {
  if (parseRecordTag(tag)) return parseRecordTag(tag)!.kind;
  if (isEnvRecordTag(tag)) return 'env';
  const m = /^(env|image|wheelhouse)-[a-z0-9_.-]+-[0-9a-f]{12}$/.exec(tag);
  return m ? (m[1] as TagKind) : undefined;
}

/** A wheelhouse on the registry: an artifact manifest (OCI 1.1 artifactType) whose layers are its files. */
export const WHEELHOUSE_ARTIFACT_TYPE = 'application/vnd.weld.wheelhouse.v1';
/** The annotation ORAS and others unpack a layer to: the file's path in the tree. */
export const TITLE_ANNOTATION = 'org.opencontainers.image.title';

/** What is signed: the record without what only this store knows (where it came from, a broken mark). */
export function signedBody(r: StoredRecord): Buffer {
  const { origin: _origin, ...data } = r.data as unknown as Record<string, unknown>;
  return Buffer.from(canonicalJson({ kind: r.kind, id: r.id, data }));
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export function recordManifest(opts: { record: StoredRecord; config: Descriptor; blobs: Descriptor[]; artifactType?: string }): Buffer {
  const data = opts.record.data as unknown as Record<string, unknown>;
  const name = typeof data['package'] === 'string' ? data['package'] : typeof data['name'] === 'string' ? data['name'] : typeof data['env'] === 'string' ? data['env'] : '';
  const nameKey = opts.record.kind === 'compose' ? 'vnd.weld.compose' : opts.record.kind === 'env' ? 'vnd.weld.env' : 'vnd.weld.package';
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
      config: opts.config,
      layers: opts.blobs,
      annotations: { 'vnd.weld.record.kind': opts.record.kind, 'vnd.weld.record.id': opts.record.id, ...(name ? { [nameKey]: name } : {}) },
    }),
  );
}
