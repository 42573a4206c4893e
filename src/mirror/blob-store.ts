import type { Readable } from 'node:stream';
import type { WeldError } from '../core/errors.js';
import type { Result } from '../core/result.js';

/** `sha256:<64 hex>`, as the content store names blobs. */
export type Digest = `sha256:${string}`;

/** The part of the content store that mirroring uses: downloads land here first. */
export interface BlobStore {
  has(digest: Digest): Promise<boolean>;
  get(digest: Digest): Promise<Result<Readable, WeldError>>;
  put(source: Readable, opts: { expected?: Digest }): Promise<Result<{ digest: Digest }, WeldError & { code: string }>>;
}
