// The shapes the dashboard reads from the public API (/api/v1), as the README documents
// them. Kept here rather than imported from src/service: the page is a client of the
// API like any other, and builds without Node's types.

export type JobState = 'init' | 'wait' | 'build' | 'done' | 'failed' | 'ready';
export type PackageState = 'waiting' | 'blocked' | 'building' | 'cached' | 'built' | 'failed' | 'skipped' | 'canceled';

export interface Output {
  name: string;
  digest: string;
  size: number;
}

export interface PackageStatus {
  state: PackageState;
  key?: string;
  outputs?: Output[];
  error?: { code: string; message: string };
  startedAt?: number;
  endedAt?: number;
  test?: { state: 'testing' | 'passed' | 'failed'; key?: string; reused?: boolean };
}

export interface Transition {
  state: JobState;
  at: number;
  reason: string;
}

export interface Job {
  id: string;
  repository: string;
  ref: string;
  commit: string;
  packages: string[];
  all: boolean;
  composes: string[];
  jobs: number;
  submitter: string;
  submittedAt: number;
  state: JobState;
  transitions: Transition[];
  packageStates: Record<string, PackageStatus>;
  requires?: Record<string, string[]>;
  /** a compose the job wrote: a wheelhouse (no kind, in jobs of older servers) or an image (its podman tag and arch) */
  composed: Record<string, { kind?: 'wheelhouse' | 'image'; dir: string; manifest: string; record: string; wheels: number; tag?: string; arch?: string }>;
  error?: { code: string; message: string };
  logLines: number;
}

export interface JobSummary extends Omit<Job, 'packageStates' | 'transitions' | 'requires'> {
  reason?: string;
  packageCounts: Partial<Record<PackageState, number>>;
}

export interface JobList {
  jobs: JobSummary[];
  total: number;
  page: number;
  per_page: number;
  links: { next?: string; prev?: string };
}

export type ServiceEvent =
  | { type: 'job'; job: string; state: JobState; reason: string; at: number }
  | { type: 'package'; job: string; package: string; state: PackageState; at: number; key?: string; outputs?: Output[]; durationMs?: number; error?: { code: string; message: string } }
  | { type: 'log'; job: string; seq: number; package?: string; text: string; at: number };

export interface LogLine {
  seq: number;
  package?: string;
  text: string;
  at: number;
}

export interface BuildRecord {
  cacheKey: string;
  package: string;
  version: string;
  release: number;
  arch: string;
  envImage: string;
  sourceTree: string;
  recipe: { name: string; digest: string };
  dependencies: Record<string, string[]>;
  outputs: Output[];
  log: string | null;
  timings: { startedAt: string; finishedAt: string; durationMs: number };
  runner: string;
  weldVersion: string;
  provenance: string | null;
}

export interface HistoryEntry {
  key: string;
  version: string;
  release: number;
  arch: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  runner: string;
  outputs: Output[];
  log: string | null;
  provenance: string | null;
  changed: string[];
  previous?: string;
  broken?: boolean;
}

export interface StoreSummary {
  path: string;
  blobs: number;
  bytes: number;
  countedAt: string;
  records: Record<string, number>;
  brokenRecords: number;
  remote: { url: string } | null;
}

export interface Backend {
  name: string;
  url: string;
  arch: string;
  labels: Record<string, string> | string[];
  maxJobs: number;
  active: number;
  healthy: boolean;
  failures: number;
  skippedUntil?: string | number | null;
}

/** GET /whoami: who the token is; name null when no token was sent (and the server needs one) */
export interface Who {
  name: string | null;
  role: 'submit' | 'admin' | null;
  tokens: boolean;
}
