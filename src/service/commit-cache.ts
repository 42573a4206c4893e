import type { WeldError } from '../core/errors.js';
import type { Result } from '../core/result.js';
import type { LockEntry } from '../metadata/lock-file.js';
import type { Metadata } from '../metadata/model.js';
import { metadataAt, type ResolvedSource } from './sources.js';

// What the server knows of a commit, kept because a commit never changes: its metadata,
// validated once (a burst of jobs at one commit reads and checks it once), and what jobs
// at it mirrored (a commit without weld.lock mirrors once, not once per job). In memory,
// bounded; a restart learns both again.

const METADATA_KEPT = 8;
const LOCKS_KEPT = 64;

export class CommitCache {
  private readonly metadataAt = new Map<string, Promise<Result<Metadata, WeldError>>>();
  private readonly locks = new Map<string, Record<string, LockEntry>>();

  /** The metadata at the source's commit; failures are not kept. */
  metadata(o: { source: ResolvedSource; env: NodeJS.ProcessEnv }): Promise<Result<Metadata, WeldError>> {
    const key = `${o.source.dir}:${o.source.commit}`;
    let m = this.metadataAt.get(key);
    if (m) {
      // most recently used last: the first key is the one to drop
      this.metadataAt.delete(key);
      this.metadataAt.set(key, m);
      return m;
    }
    m = metadataAt(o);
    this.metadataAt.set(key, m);
    void m.then((r) => {
      if (!r.ok) this.metadataAt.delete(key);
    });
    while (this.metadataAt.size > METADATA_KEPT) this.metadataAt.delete(this.metadataAt.keys().next().value!);
    return m;
  }

  /** What jobs at this job's commit mirrored. */
  lock(job: { repository: string; commit: string }): Record<string, LockEntry> {
    return this.locks.get(`${job.repository} ${job.commit}`) ?? {};
  }

  rememberLock(job: { repository: string; commit: string }, lock: Record<string, LockEntry>): void {
    const key = `${job.repository} ${job.commit}`;
    this.locks.set(key, { ...this.locks.get(key), ...lock });
    while (this.locks.size > LOCKS_KEPT) this.locks.delete(this.locks.keys().next().value!);
  }
}
