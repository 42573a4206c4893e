import { MetadataInvalidError, WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import type { Metadata } from '../metadata/model.js';
import { normalizeName } from '../metadata/names.js';
import type { Runner } from '../runner/runner.js';
import { labelProblems } from '../runner/backends/config.js';
import { KeyLeases } from '../session/leases.js';
import { CommitCache } from './commit-cache.js';
import type { Store } from '../store/store.js';
import { Bus } from './bus.js';
import { BadRequestError, DrainingError, DuplicateJobError, ForbiddenError, JobStateError, NotFoundError, RepositoryNotAllowedError, type ServiceError } from './errors.js';
import { newJobId } from './ids.js';
import { ACTIVE_STATES, jobEdges, jobIdentity, transition, type Job, type JobSpec, type JobState, type PackageStatus } from './job.js';
import type { JobStore, LogLine } from './job-store.js';
import { runJob } from './job-run.js';
import { initialStates, settleLeftovers, type Change } from './package-states.js';
import { planJob } from './job-matrix.js';
import { normaliseRepository, repositoryAllowed, checkRef, type SourceCache } from './sources.js';
import type { Caller } from './tokens.js';
import type { RemoteSettings } from '../store/remote/config.js';

// The jobs of one server: submission (the ref resolved, the metadata checked, the 409
// rule), the queue, cancel, and resume after a restart. Running one job is job-run.ts.

export interface JobServiceOptions {
  jobStore: JobStore;
  sources: SourceCache;
  store: Store;
  mirrorsDir: string;
  /** the runner a job's builds use, made with the job's metadata */
  makeRunner: (metadata: Metadata) => Promise<Result<Runner, WeldError>>;
  /** the repository allow-list (normalised) */
  allow: string[];
  /** the environment metadata is checked with (WELD_ALLOW_PATHS) */
  env: NodeJS.ProcessEnv;
  /** where composes are written: <dir>/<job>/<compose> */
  composesDir: string;
  /** load composed images into this host's podman (the podman runner: they run where they were built) */
  loadImages: boolean;
  concurrentJobs: number;
  /** lines a job's log keeps; past it, lines are dropped (a recipe that prints without end must not fill the disk) */
  maxLogLines: number;
  buildJobs: number;
  weldVersion: string;
  /** a line for the server's JSON log */
  log: (fields: Record<string, unknown>) => void;
  /** the server's store remote: builds substitute from it and push to it when it says so */
  remote?: RemoteSettings;
}

export interface SubmitRequest {
  repository: string;
  ref: string;
  packages?: string[];
  all?: boolean;
  composes?: string[];
  jobs?: number;
  selector?: Record<string, string>;
  targets?: string[];
}

export interface JobMetrics {
  onBuildEnded(o: { state: PackageStatus['state']; seconds?: number }): void;
}

interface Running {
  abort: AbortController;
  canceledBy?: string;
  /** a shutdown stopped it: it stays `build` in the store and resumes at the next start */
  interrupted?: boolean;
  done: Promise<void>;
}

export class JobService {
  readonly bus = new Bus();
  readonly leases = new KeyLeases();
  readonly commits = new CommitCache();
  /** waiting job ids in submission order */
  private readonly queue: string[] = [];
  private readonly running = new Map<string, Running>();
  /** metadata read at submission, kept for the job's build (dropped once it starts) */
  private readonly metadataOf = new Map<string, Metadata>();
  private draining = false;
  metrics: JobMetrics | undefined;

  constructor(readonly o: JobServiceOptions) {}

  get queueDepth(): number {
    return this.queue.length;
  }

  get runningCount(): number {
    return this.running.size;
  }

  /** The oldest waiting job's wait so far, in seconds. */
  oldestWaitSeconds(now = Date.now()): number {
    const id = this.queue[0];
    const job = id ? this.o.jobStore.get(id) : undefined;
    const since = job?.transitions.findLast((t) => t.state === 'wait')?.at;
    return since === undefined ? 0 : (now - since) / 1000;
  }

  /** Checks and records a job: nothing is written unless every check passes. */
  async submit(req: SubmitRequest, caller: Caller): Promise<Result<Job, WeldError>> {
    if (this.draining) return err(new DrainingError());
    const repository = normaliseRepository(req.repository);
    if (!repository.ok) return repository;
    if (!repositoryAllowed({ repository: repository.value, allow: this.o.allow }))
      return err(
        new RepositoryNotAllowedError(
          `repository ${repository.value} is not in this server's allow-list`,
          this.o.allow.length ? `allowed: ${this.o.allow.join(', ')}` : 'the server allows no repository; configure repositories = […] in its config file',
        ),
      );
    const ref = checkRef(req.ref);
    if (!ref.ok) return ref;
    const all = req.all === true;
    // As the CLI does: "MarkupSafe" and "markupsafe" name one package (PEP 503).
    const packages = [...new Set((req.packages ?? []).map(normalizeName))];
    if (all === packages.length > 0) return err(new BadRequestError(all ? 'name packages or ask for all, not both' : 'name the packages to build, or set "all": true', 'packages'));
    const jobs = req.jobs ?? this.o.buildJobs;
    const selectorProblems = labelProblems(req.selector ?? {});
    if (selectorProblems.length) return err(new BadRequestError(`selector: ${selectorProblems.join('; ')}`, 'selector'));
    const selector = req.selector && Object.keys(req.selector).length ? req.selector : undefined;
    const resolved = await this.o.sources.resolve({ repository: repository.value, ref: ref.value });
    if (!resolved.ok) return resolved;
    const metadata = await this.commits.metadata({ source: resolved.value, env: this.o.env });
    if (!metadata.ok) return metadata;
    const m = metadata.value;
    const unknown = packages.filter((p) => !m.packages.has(p));
    if (unknown.length) return err(new BadRequestError(`no package${unknown.length > 1 ? 's' : ''} named ${unknown.map((u) => `"${u}"`).join(', ')} in the metadata at ${resolved.value.commit.slice(0, 12)}`, 'packages'));
    const composes = [...new Set(req.composes ?? [])];
    const badCompose = composes.filter((c) => m.composes.get(c) === undefined);
    if (badCompose.length)
      return err(
        new BadRequestError(
          `no compose named ${badCompose.map((c) => `"${c}"`).join(', ')} in the metadata at ${resolved.value.commit.slice(0, 12)} (known: ${[...m.composes.keys()].join(', ') || 'none'})`,
          'composes',
        ),
      );
    const targetNames = req.targets && req.targets.length ? [...new Set(req.targets)].sort() : undefined;
    const unknownTargets = (targetNames ?? []).filter((t) => !m.distro.targets.some((x) => x.name === t));
    if (unknownTargets.length) return err(new BadRequestError(`no target ${unknownTargets.map((t) => `"${t}"`).join(', ')} in the metadata at ${resolved.value.commit.slice(0, 12)} (targets: ${m.distro.targets.map((t) => t.name).join(', ')})`, 'targets'));
    const spec: JobSpec = { repository: repository.value, ref: ref.value, packages: packages.sort(), all, composes: composes.sort(), jobs, ...(selector ? { selector } : {}), ...(targetNames ? { targets: targetNames } : {}) };
    const commit = resolved.value.commit;
    const plan = await planJob({ metadata: m, ...spec });
    if (plan.keys.length === 0) return err(new BadRequestError(`${packages.join(', ')} build${packages.length === 1 ? 's' : ''} for none of the targets asked for`, 'targets'));
    const closure = plan.keys;
    // From here to save() nothing awaits: two identical submissions cannot both pass.
    const identity = jobIdentity({ ...spec, commit });
    const twin = this.o.jobStore.all().find((j) => ACTIVE_STATES.has(j.state) && jobIdentity(j) === identity);
    if (twin) return err(new DuplicateJobError(twin.id));
    const now = Date.now();
    const job: Job = {
      ...spec,
      id: newJobId(now),
      commit,
      submitter: caller.name,
      submittedAt: now,
      state: 'init',
      transitions: [{ state: 'init', at: now, reason: `submitted by ${caller.name}: ${spec.ref} is ${commit}` }],
      packageStates: initialStates({ metadata: plan, packages: closure }),
      requires: jobEdges({ packages: closure, requires: (p) => plan.graph.requires(p) }),
      composed: {},
      logLines: 0,
    };
    transition(job, 'wait', `metadata valid at ${commit.slice(0, 12)}; queued`, now);
    this.o.jobStore.save(job);
    this.metadataOf.set(job.id, m);
    this.publishJob(job);
    this.queue.push(job.id);
    this.o.log({ msg: 'job submitted', job: job.id, repository: job.repository, ref: job.ref, commit, submitter: caller.name });
    this.pump();
    return ok(job);
  }

  /** Cancel: a waiting job fails at once; a building one has its builds stopped (nothing recorded for them). */
  cancel(id: string, caller: Caller): Result<Job, ServiceError> {
    const job = this.o.jobStore.get(id);
    if (!job) return err(new NotFoundError(`no job ${id}`));
    if (caller.role !== 'admin' && caller.name !== job.submitter) return err(new ForbiddenError(`job ${id} was submitted by ${job.submitter}; only its submitter or an admin may cancel it`));
    const reason = `canceled by ${caller.name}`;
    if (job.state === 'wait' || job.state === 'init') {
      const i = this.queue.indexOf(id);
      if (i >= 0) this.queue.splice(i, 1);
      this.metadataOf.delete(id);
      this.end(job, 'failed', reason, { code: 'E_CANCELED', message: reason });
      return ok(job);
    }
    const r = this.running.get(id);
    if (job.state === 'build' && r) {
      if (!r.canceledBy) {
        r.canceledBy = caller.name;
        this.appendLog(job, { text: reason });
        r.abort.abort(new Error(reason));
      }
      return ok(job);
    }
    return err(new JobStateError(`job ${id} is ${job.state}; only a waiting or building job can be canceled`));
  }

  /** At start: jobs a previous process left waiting, building or composing (done) are queued again; one caught in init fails. */
  resume(): void {
    for (const job of [...this.o.jobStore.all()].reverse()) {
      if (job.state === 'init') this.end(job, 'failed', 'the server stopped while the job was being checked; submit it again', { code: 'E_INTERRUPTED', message: 'interrupted during init' });
      else if (job.state === 'build') {
        transition(job, 'wait', 'the server restarted while it was building; queued to resume');
        this.appendLog(job, { text: '--- the server restarted; the build resumes: what finished is a cache hit ---' });
        this.o.jobStore.save(job);
        this.publishJob(job);
        this.queue.push(job.id);
      } else if (job.state === 'wait' || job.state === 'done') this.queue.push(job.id);
    }
    this.pump();
  }

  /** SIGTERM: no new jobs; running builds may finish for `timeoutMs`, then are stopped (and resume at the next start). */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    const all = Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)))]);
    clearTimeout(timer);
    if (timedOut) {
      for (const r of this.running.values()) {
        r.interrupted = true;
        r.abort.abort(new Error('the server is shutting down'));
      }
      await all;
    }
    await this.o.jobStore.flush();
  }

  get isDraining(): boolean {
    return this.draining;
  }

  appendLog(job: Job, line: { pkg?: string; text: string }): LogLine | undefined {
    if (job.logLines > this.o.maxLogLines) return undefined;
    const l = this.o.jobStore.appendLog(job, job.logLines === this.o.maxLogLines ? { text: `--- the log has reached ${this.o.maxLogLines} lines: later lines are dropped (max_log_lines) ---` } : line);
    this.bus.publish({ type: 'log', job: job.id, seq: l.seq, text: l.text, at: l.at, ...(l.pkg !== undefined ? { package: l.pkg } : {}) });
    return l;
  }

  /** Applies what an event changed: store, bus, log. */
  apply(job: Job, changes: Change[]): void {
    for (const c of changes) {
      if ('pkg' in c) {
        const st = c.status;
        const durationMs = st.startedAt !== undefined && st.endedAt !== undefined ? st.endedAt - st.startedAt : undefined;
        this.bus.publish({
          type: 'package',
          job: job.id,
          package: c.pkg,
          state: st.state,
          at: Date.now(),
          ...(st.key ? { key: st.key } : {}),
          ...(st.outputs ? { outputs: st.outputs } : {}),
          ...(durationMs !== undefined ? { durationMs } : {}),
          ...(st.error ? { error: st.error } : {}),
        });
        if (c.status.endedAt !== undefined) this.metrics?.onBuildEnded({ state: c.status.state, ...(c.status.startedAt !== undefined && c.status.state === 'built' ? { seconds: (c.status.endedAt - c.status.startedAt) / 1000 } : {}) });
      } else if ('log' in c) this.appendLog(job, c.log);
      else this.appendLog(job, { text: `(event "${c.unknown}" not shown by this server)` });
    }
    this.o.jobStore.save(job);
  }

  /** Moves a job to a final or later state, records why, and tells the bus. */
  end(job: Job, state: JobState, reason: string, error?: Job['error']): void {
    const t = transition(job, state, reason);
    if (!t.ok) throw new Error(`bug: ${t.error.message}`);
    if (error && !job.error) job.error = error;
    if (state === 'failed') this.apply(job, settleLeftovers({ job, reason, at: t.value.at }));
    this.o.jobStore.save(job);
    this.publishJob(job);
    this.o.log({ msg: `job ${state}`, job: job.id, reason });
  }

  publishJob(job: Job): void {
    const t = job.transitions[job.transitions.length - 1]!;
    this.bus.publish({ type: 'job', job: job.id, state: t.state, reason: t.reason, at: t.at });
  }

  private pump(): void {
    while (this.running.size < this.o.concurrentJobs && this.queue.length && !this.draining) {
      const id = this.queue.shift()!;
      const job = this.o.jobStore.get(id);
      if (!job || (job.state !== 'wait' && job.state !== 'done')) continue;
      const abort = new AbortController();
      const entry: Running = { abort, done: Promise.resolve() };
      this.running.set(id, entry);
      entry.done = this.runOne(job, entry).finally(() => {
        this.running.delete(id);
        this.pump();
      });
    }
  }

  private async runOne(job: Job, r: Running): Promise<void> {
    const metadata = this.metadataOf.get(job.id);
    this.metadataOf.delete(job.id);
    try {
      await runJob({ service: this, job, ...(metadata ? { metadata } : {}), signal: r.abort.signal, canceledBy: () => r.canceledBy, interrupted: () => r.interrupted === true });
    } catch (e: unknown) {
      // A throw is a bug; the job must still end, or it would hold its slot and its 409 forever.
      this.o.log({ msg: 'internal error', job: job.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      if (job.state !== 'failed' && job.state !== 'ready') this.end(job, 'failed', `internal error: ${e instanceof Error ? e.message : String(e)}`, { code: 'E_INTERNAL', message: String(e) });
    }
  }
}

/** The HTTP status of a submission's failure. */
export function statusOf(e: WeldError): number {
  if ('status' in e && typeof (e as ServiceError).status === 'number') return (e as ServiceError).status;
  if (e instanceof MetadataInvalidError) return 422;
  if (e.code === 'E_GIT_REF') return 404;
  if (e.code === 'E_USAGE') return 400;
  return 500;
}
