import { listBlobs } from '../store/blobs.js';
import type { Store } from '../store/store.js';

// How many blobs the content store holds and their bytes. Counting means a stat of every
// blob, so one scan serves every caller for a minute (/metrics and GET /store share it),
// and callers that arrive during a scan wait for that one.

const SCAN_EVERY_MS = 60_000;

export interface StoreSize {
  blobs: number;
  bytes: number;
  /** when the figures were counted (ms since the epoch) */
  at: number;
}

export class StoreScan {
  private last: StoreSize = { blobs: 0, bytes: 0, at: 0 };
  private running: Promise<StoreSize> | undefined;

  constructor(private readonly store: Store) {}

  size(now = Date.now()): Promise<StoreSize> {
    if (now - this.last.at < SCAN_EVERY_MS) return Promise.resolve(this.last);
    this.running ??= this.scan().finally(() => (this.running = undefined));
    return this.running;
  }

  private async scan(): Promise<StoreSize> {
    let blobs = 0;
    let bytes = 0;
    for await (const e of listBlobs(this.store.layout)) {
      if (e.kind !== 'blob') continue;
      const st = await this.store.stat(e.digest);
      if (!st.ok) continue;
      blobs++;
      bytes += st.value.size;
    }
    this.last = { blobs, bytes, at: Date.now() };
    return this.last;
  }
}
