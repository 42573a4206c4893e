import { createHash } from 'node:crypto';
import { canonicalJson } from '../core/digest.js';
import { JobStateError } from './errors.js';
import { err, ok, type Result } from '../core/result.js';

// A job and the rules of its life, after Fedora's Module Build Service: init (the ref is
// resolved and the metadata checked) → wait (queued) → build → done | failed, then ready
// once its composes are written. Every transition is kept with its time and reason.

export const JOB_STATES = ['init', 'wait', 'build', 'done', 'failed', 'ready'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const PACKAGE_STATES = ['waiting', 'blocked', 'building', 'cached', 'built', 'failed', 'skipped', 'canceled'] as const;
export type PackageState = (typeof PACKAGE_STATES)[number];

/** The states a job leaves only by a restart's resume (or never). */
export const FINAL_STATES: ReadonlySet<JobState> = new Set(['failed', 'ready']);
/** Waiting or building: what an identical submission collides with, and what a restart resumes. */
export const ACTIVE_STATES: ReadonlySet<JobState> = new Set(['init', 'wait', 'build']);

const NEXT: Record<JobState, readonly JobState[]> = {
  init: ['wait', 'failed'],
  wait: ['build', 'failed'],
  // build → wait: a restart found it building and queued it again
  build: ['done', 'failed', 'wait'],
  done: ['ready', 'failed'],
  failed: [],
  ready: [],
};

export interface Transition {
  state: JobState;
  at: number;
  reason: string;
}

export interface PackageStatus {
  state: PackageState;
  /** the cache key of its build, once planned */
  key?: string;
  outputs?: Array<{ name: string; digest: string; size: number }>;
  /** why it failed, was skipped or canceled */
  error?: { code: string; message: string };
  startedAt?: number;
  endedAt?: number;
  /** the build backend its last run went to (only when the server has backends) */
  backend?: string;
  /** cached because the store remote had it: where from and whose signature let it in */
  substituted?: { remote: string; keyId: string };
  /** cached because another target built this pure wheel: that build's key */
  sharedFrom?: string;
  /** a wheel's test, after its build (README, "Tests"): running, passed (run now or reused), or failed */
  test?: { state: 'testing' | 'passed' | 'failed'; key?: string; reused?: boolean };
}

/**
 * A compose a job wrote. A wheelhouse is a directory the server serves to pip; an image
 * is an OCI archive the server serves for `podman load` (and, with the podman runner,
 * has loaded into its own podman as `tag`). Jobs stored before images existed have no
 * `kind`: they are wheelhouses.
 */
export interface ComposedOutput {
  kind?: 'wheelhouse' | 'image';
  /** the wheelhouse's directory, or the image archive's file */
  dir: string;
  manifest: string;
  record: string;
  wheels: number;
  /** image: weld/<name>:<12 hex of its manifest digest> */
  tag?: string;
  /** image: the arch `podman run --arch` takes (of a single-target image) */
  arch?: string;
  /** image of a distro with several targets: each target's image; `tag`, `dir` and `manifest` are then the image index's */
  images?: Array<{ target: string; arch: string; tag: string; manifest: string }>;
}

export interface JobSpec {
  /** the repository as the server normalised it (a URL, or an absolute path) */
  repository: string;
  ref: string;
  /** the packages asked for; empty with `all` */
  packages: string[];
  all: boolean;
  composes: string[];
  /** builds at once inside this job */
  jobs: number;
  /** labels every build backend of this job must have; absent: any */
  selector?: Record<string, string>;
  /** the targets it builds (a distro with several); absent: every target */
  targets?: string[];
}

export interface Job extends JobSpec {
  id: string;
  /** the commit the ref named when the job was submitted */
  commit: string;
  submitter: string;
  submittedAt: number;
  state: JobState;
  transitions: Transition[];
  /** every package the job builds (its targets and what they require) */
  packageStates: Record<string, PackageStatus>;
  /** the build graph's edges inside the job: each package → the job's packages it requires to build (absent in jobs of older servers) */
  requires?: Record<string, string[]>;
  /** per compose: what it made, its manifest blob, its compose record in the store, and how many wheels */
  composed: Record<string, ComposedOutput>;
  /** why the job failed: the first error that stopped it */
  error?: { code: string; message: string; [k: string]: unknown };
  /** how many log lines the job has: the next line's sequence number */
  logLines: number;
}

/** What makes two jobs identical: the same commit, packages and options (the 409 rule). */
export function jobIdentity(o: { commit: string } & JobSpec): string {
  const packages = o.all ? ['*'] : [...o.packages].sort();
  return createHash('sha256')
    .update(canonicalJson({ repository: o.repository, commit: o.commit, packages, composes: [...o.composes].sort(), jobs: o.jobs, ...(o.selector ? { selector: o.selector } : {}), ...(o.targets ? { targets: [...o.targets].sort() } : {}) }))
    .digest('hex');
}

/** Moves the job to `to`, or says why it cannot. Mutates the job: callers persist it next. */
export function transition(job: Job, to: JobState, reason: string, at: number = Date.now()): Result<Transition, JobStateError> {
  if (!NEXT[job.state].includes(to)) return err(new JobStateError(`job ${job.id} is ${job.state}; it cannot become ${to}`));
  const t = { state: to, at, reason };
  job.state = to;
  job.transitions.push(t);
  return ok(t);
}

/** A package state that no later event of the same build changes. */
export function packageEnded(s: PackageState): boolean {
  return s === 'cached' || s === 'built' || s === 'failed' || s === 'skipped' || s === 'canceled';
}

/** A job's build graph: each of `packages` → those of them it requires (metadata's graph, cut to the job). */
export function jobEdges(o: { packages: string[]; requires: (pkg: string) => readonly string[] }): Record<string, string[]> {
  const inJob = new Set(o.packages);
  return Object.fromEntries(o.packages.map((p) => [p, o.requires(p).filter((r) => inJob.has(r))]));
}
