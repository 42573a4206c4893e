import type { Store } from '../store/store.js';

export type { Digest } from '../store/digest.js';

/** The part of the content store that mirroring uses: downloads land here first. */
export type BlobStore = Pick<Store, 'has' | 'get' | 'put'>;
