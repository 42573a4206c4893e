import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Level } from 'level';
import { err, ok, type Result } from '../core/result.js';
import { JobStoreError } from './errors.js';
import type { Job } from './job.js';

// The service's embedded job store: LevelDB under the state dir, as the content store's
// index is, so jobs, their transitions and their logs survive a kill -9 with no other
// service to run. Keys sort the way the API reads them:
//
//   job!<id>               the job as JSON (ids are ULIDs: key order is submission order)
//   log!<id>!<seq, 10 digits>   one log line: {"p": package?, "t": text, "at": ms}
//
// Every job is also held in memory (a server's jobs fit easily; lists and filters read
// them there). Writes are queued and flushed as one batch per tick: a job whose packages
// change state a thousand times in one tick is written once.

export interface LogLine {
  seq: number;
  /** the package the line is about; none for the job's own lines */
  pkg?: string;
  text: string;
  at: number;
}

const SEQ_WIDTH = 10;
const logKey = (id: string, seq: number) => `log!${id}!${String(seq).padStart(SEQ_WIDTH, '0')}`;

export class JobStore {
  private readonly jobs = new Map<string, Job>();
  private readonly dirty = new Set<string>();
  /** bumped on every change of a job: readers cache what they derive from it (its JSON) */
  private readonly versions = new Map<string, number>();
  private pendingLogs: Array<{ key: string; value: string }> = [];
  private flushing: Promise<void> | undefined;
  private scheduled = false;
  private failure: Error | undefined;

  private constructor(private readonly db: Level<string, string>) {}

  static async open(o: { stateDir: string }): Promise<Result<JobStore, JobStoreError>> {
    const dir = path.join(o.stateDir, 'jobs');
    try {
      mkdirSync(dir, { recursive: true });
      const db = new Level<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
      await db.open();
      const store = new JobStore(db);
      for await (const [, value] of db.iterator({ gte: 'job!', lt: 'job!\xff' })) {
        const job = JSON.parse(value) as Job;
        store.jobs.set(job.id, job);
      }
      // The log is the truth for its length: lines flushed after the job's last write count.
      for (const job of store.jobs.values()) {
        for await (const key of db.keys({ gte: `log!${job.id}!`, lt: `log!${job.id}!\xff`, reverse: true, limit: 1 })) job.logLines = Number(key.slice(-SEQ_WIDTH)) + 1;
      }
      return ok(store);
    } catch (e: unknown) {
      const busy = e instanceof Error && /lock/i.test(String((e as { cause?: unknown }).cause ?? e.message));
      return err(
        new JobStoreError(
          `cannot open the job store in ${dir}: ${e instanceof Error ? e.message : String(e)}`,
          busy ? 'another weld server uses this state directory; stop it or pass another --state' : 'check that the state directory is writable',
        ),
      );
    }
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** Every job, newest first. */
  all(): Job[] {
    return [...this.jobs.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  /** Keeps the job (new or changed); written with the next flush. */
  save(job: Job): void {
    this.jobs.set(job.id, job);
    this.bump(job.id);
    this.dirty.add(job.id);
    this.schedule();
  }

  /** Appends a line to the job's log and returns it with its sequence number. */
  appendLog(job: Job, line: { pkg?: string; text: string; at?: number }): LogLine {
    const out: LogLine = { seq: job.logLines, text: line.text, at: line.at ?? Date.now(), ...(line.pkg !== undefined ? { pkg: line.pkg } : {}) };
    job.logLines += 1;
    this.bump(job.id);
    this.pendingLogs.push({ key: logKey(job.id, out.seq), value: JSON.stringify({ t: out.text, at: out.at, ...(out.pkg !== undefined ? { p: out.pkg } : {}) }) });
    this.dirty.add(job.id);
    this.schedule();
    return out;
  }

  /** How many times the job has changed in this process: equal numbers, equal job. */
  version(id: string): number {
    return this.versions.get(id) ?? 0;
  }

  private bump(id: string): void {
    this.versions.set(id, (this.versions.get(id) ?? 0) + 1);
  }

  /** The job's log lines from `from` on (sequence numbers), optionally one package's only. */
  async readLog(o: { id: string; from?: number; pkg?: string; limit?: number }): Promise<LogLine[]> {
    await this.flush();
    const out: LogLine[] = [];
    for await (const [key, value] of this.db.iterator({ gte: logKey(o.id, o.from ?? 0), lt: `log!${o.id}!\xff` })) {
      const v = JSON.parse(value) as { t: string; at: number; p?: string };
      if (o.pkg !== undefined && v.p !== o.pkg) continue;
      out.push({ seq: Number(key.slice(-SEQ_WIDTH)), text: v.t, at: v.at, ...(v.p !== undefined ? { pkg: v.p } : {}) });
      if (o.limit !== undefined && out.length >= o.limit) break;
    }
    return out;
  }

  /** Writes what is queued; resolves once it is in LevelDB. */
  async flush(): Promise<void> {
    while (this.flushing || this.dirty.size || this.pendingLogs.length) {
      if (this.flushing) {
        await this.flushing;
        continue;
      }
      this.flushing = this.writeBatch().finally(() => (this.flushing = undefined));
      await this.flushing;
    }
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    await this.flush().catch(() => {});
    await this.db.close();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush().catch(() => {});
    });
  }

  private async writeBatch(): Promise<void> {
    const ops: Array<{ type: 'put'; key: string; value: string }> = this.pendingLogs.map((l) => ({ type: 'put', ...l }));
    this.pendingLogs = [];
    for (const id of this.dirty) ops.push({ type: 'put', key: `job!${id}`, value: JSON.stringify(this.jobs.get(id)) });
    this.dirty.clear();
    if (!ops.length) return;
    try {
      await this.db.batch(ops);
    } catch (e: unknown) {
      // Kept: the server reports it on the next flush a caller awaits.
      this.failure = e instanceof Error ? e : new Error(String(e));
    }
  }
}
