// One build per cache key at a time, across the sessions that share a lease book (the
// build service's jobs): a build of a key that another session is building waits for it,
// then looks for the record that build wrote and reuses it, so two jobs that need the same
// key build it once, also when both reach it at the same moment.

export interface BuildLeases {
  /** Resolves once this caller holds `key`; the function it gives releases it. */
  acquire(key: string): Promise<() => void>;
}

export class KeyLeases implements BuildLeases {
  private readonly tails = new Map<string, Promise<void>>();

  acquire(key: string): Promise<() => void> {
    const before = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    this.tails.set(key, tail);
    // The last holder's release drops the entry, so the map holds only keys in use.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return before.then(() => release);
  }

  /** Keys held or waited for now. */
  get size(): number {
    return this.tails.size;
  }
}
