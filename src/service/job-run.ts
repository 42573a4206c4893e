import { withSelector } from '../runner/backends/selector.js';
import os from 'node:os';
import path from 'node:path';
import type { WeldError } from '../core/errors.js';
import { ok, type Result } from '../core/result.js';
import type { Metadata } from '../metadata/model.js';
import type { MirrorEvent } from '../mirror/events.js';
import { nextLock } from '../mirror/lock-writer.js';
import { mirrorPackages, type MirrorOutcome } from '../mirror/mirror.js';
import { jobEdges, transition, type ComposedOutput, type Job } from './job.js';
import type { JobService } from './jobs.js';
import { applyBuildEvent, initialStates, type Change } from './package-states.js';
import { planJob } from './job-matrix.js';
import { matrixName, openMatrix, runMatrix, type TargetRun } from '../session/matrix.js';
import { metadataAt } from './sources.js';

// One job's build, from `wait` to `done`/`failed` and `ready`: mirror its packages into the
// server's mirrors, build them through the same build session as `weld build` (sharing
// build leases with the other jobs), then write its composes. Cancel and shutdown arrive
// through the signal; a shutdown leaves the job `build` so the next start resumes it.

export interface RunJobOptions {
  service: JobService;
  job: Job;
  /** read at submission; a resumed job reads it again from the cache repository */
  metadata?: Metadata;
  signal: AbortSignal;
  canceledBy: () => string | undefined;
  interrupted: () => boolean;
}

export async function runJob(o: RunJobOptions): Promise<void> {
  const { service: s, job } = o;
  // A restart found it `done` with its composes unwritten: the build below is a no-op that
  // gives the composes their records, then they are written.
  const composing = job.state === 'done';
  if (composing) s.appendLog(job, { text: '--- the server restarted while the job composed: composing again ---' });
  else {
    const t = transition(job, 'build', job.transitions.some((x) => x.state === 'build') ? 'resumed' : 'building');
    if (!t.ok) return;
    s.o.jobStore.save(job);
    s.publishJob(job);
  }

  const metadata = o.metadata ?? (await reopen(o));
  if (!metadata) return;
  const plan = await planJob({ metadata, ...job });
  // What the build will touch: the targets, what they require, and what their tests install (per target).
  const closure = plan.packages;
  job.packageStates = initialStates({ metadata: plan, packages: plan.keys, previous: job.packageStates });
  job.requires = jobEdges({ packages: plan.keys, requires: (p) => plan.graph.requires(p) });
  s.o.jobStore.save(job);

  // Mirrors: a package is mirrored by one job at a time (two jobs may share it). The leases
  // are taken in name order, so two jobs waiting for each other's packages cannot deadlock.
  s.appendLog(job, { text: `mirroring ${closure.length} package${closure.length === 1 ? '' : 's'} at ${job.commit.slice(0, 12)}` });
  const releases: Array<() => void> = [];
  let outcome: MirrorOutcome;
  try {
    for (const pkg of [...closure].sort()) releases.push(await s.leases.acquire(`mirror:${pkg}`));
    // A commit without (or with an older) weld.lock: what an earlier job mirrored from the same inputs counts.
    const known: Metadata = { ...metadata, lock: { ...metadata.lock, ...s.commits.lock(job) } };
    outcome = await mirrorPackages({ metadata: known, packages: closure, mirrorsDir: s.o.mirrorsDir, store: async () => ok(s.o.store), env: s.o.env, jobs: 4, onEvent: (e) => mirrorLine(s, job, e) });
  } finally {
    for (const release of releases) release();
  }
  const broken = new Set<string>();
  for (const [pkg, r] of outcome) if (!r.ok) broken.add(pkg);
  const changes: Change[] = [];
  const buildable = new Map<string, string[]>();
  for (const t of plan.perTarget) {
    const key = (pkg: string) => (plan.matrix ? matrixName(pkg, t.target.name) : pkg);
    for (const pkg of t.closure) {
      if (!broken.has(pkg)) continue;
      const r = outcome.get(pkg)!;
      job.packageStates[key(pkg)] = { state: 'failed', error: { code: r.ok ? 'E_MIRROR' : r.error.code, message: `mirror: ${r.ok ? 'failed' : r.error.message}` }, endedAt: Date.now() };
      changes.push({ pkg: key(pkg), status: job.packageStates[key(pkg)]! });
    }
    const mine = t.asked.filter((a) => !t.view.graph.subgraph([a]).order().some((p) => broken.has(p)));
    buildable.set(t.target.name, mine);
    const reached = new Set(t.view.graph.subgraph(mine).order());
    for (const pkg of t.closure) {
      if (broken.has(pkg) || reached.has(pkg)) continue;
      job.packageStates[key(pkg)] = { state: 'skipped', error: { code: 'E_DEPENDENCY_FAILED', message: 'a package it needs could not be mirrored' }, endedAt: Date.now() };
      changes.push({ pkg: key(pkg), status: job.packageStates[key(pkg)]! });
    }
  }
  s.apply(job, changes);
  // The mirrors now hold the distro commits; builds key on them as `weld up` does after its mirror.
  const mirrored: Metadata = { ...metadata, lock: nextLock({ metadata, outcome, current: metadata.lock }) };
  s.commits.rememberLock(job, mirrored.lock);

  const runner = await s.o.makeRunner(mirrored);
  if (!runner.ok) return failJob(o, `cannot make the runner: ${runner.error.message}`, runner.error.toJSON());
  const runs = openMatrix({
    metadata: mirrored,
    targets: plan.perTarget.map((t) => t.target),
    packages: (view) => buildable.get(view.distro.targets[0]!.name) ?? [],
    store: s.o.store,
    runner: withSelector(runner.value, job.selector ?? {}),
    mirrorsDir: s.o.mirrorsDir,
    weldVersion: s.o.weldVersion,
    ...(s.o.remote ? { remote: s.o.remote } : {}),
  });
  let summary;
  if (runs.length) {
    const built = await runMatrix(runs, {
      mode: 'build',
      matrix: plan.matrix,
      // A job may ask for fewer builds at once than the server runs, not for more.
      jobs: Math.min(job.jobs, Math.max(s.o.buildJobs, os.availableParallelism())),
      signal: o.signal,
      leases: s.leases,
      onEvent: (e) => s.apply(job, applyBuildEvent({ job, metadata: plan, event: e, canceled: o.signal.aborted })),
    });
    if (!built.ok) return failJob(o, built.error.message, built.error.toJSON());
    summary = built.value;
  }
  if (o.interrupted()) {
    s.appendLog(job, { text: 'the server is shutting down: this job resumes at its next start' });
    await s.o.jobStore.flush();
    return;
  }
  const who = o.canceledBy();
  if (who) return failJob(o, `canceled by ${who}`, { code: 'E_CANCELED', message: `canceled by ${who}` });
  const failed = Object.entries(job.packageStates).filter(([, st]) => st.state === 'failed').map(([p]) => p);
  const skipped = Object.entries(job.packageStates).filter(([, st]) => st.state === 'skipped' || st.state === 'canceled').map(([p]) => p);
  if (failed.length || skipped.length) {
    const why = [failed.length ? `failed: ${failed.join(', ')}` : '', skipped.length ? `skipped: ${skipped.join(', ')}` : ''].filter(Boolean).join('; ');
    return failJob(o, why, { code: 'E_BUILD_FAILED', message: why });
  }
  if (!composing) s.end(job, 'done', `${summary?.built.length ?? 0} built, ${summary?.cached.length ?? 0} cached${summary?.substituted.length ? `, ${summary.substituted.length} substituted` : ''}${summary?.shared.length ? `, ${summary.shared.length} shared` : ''}`);
  await compose({ ...o, runs, metadata: mirrored });
}

async function reopen(o: RunJobOptions): Promise<Metadata | undefined> {
  const { service: s, job } = o;
  const source = await s.o.sources.known({ repository: job.repository, commit: job.commit });
  if (!source) {
    failJob(o, `commit ${job.commit} is no longer in the server's copy of ${job.repository}`, { code: 'E_SOURCE_LOST', message: 'the cache repository lost the commit' });
    return undefined;
  }
  const m = await metadataAt({ source, env: s.o.env });
  if (!m.ok) {
    failJob(o, m.error.message, m.error.toJSON());
    return undefined;
  }
  return m.value;
}

function failJob(o: RunJobOptions, reason: string, error: Record<string, unknown>): void {
  o.service.end(o.job, 'failed', reason, error as Job['error']);
}

function mirrorLine(s: JobService, job: Job, e: MirrorEvent): void {
  if (e.type === 'mirroring') s.appendLog(job, { pkg: e.subject.name, text: 'mirror: checking the upstream and the distro branch' });
  else if (e.type === 'phase') s.appendLog(job, { pkg: e.subject.name, text: `mirror: ${e.data.detail}` });
  else if (e.type === 'warning') s.appendLog(job, { pkg: e.subject.name, text: `mirror: warning: ${e.data.message}` });
}

/** Writes the job's composes from the records its build ended with; then the job is ready. */
async function compose(o: RunJobOptions & { runs: TargetRun[]; metadata: Metadata }): Promise<void> {
  const { service: s, job, metadata } = o;
  if (job.composes.length === 0) return s.end(job, 'ready', 'no composes asked for');
  for (const name of job.composes) {
    const kind = metadata.composes.get(name)?.kind;
    const runs = o.runs.filter((r) => r.metadata.composes.has(name));
    const r = kind === 'image' ? await composeImagesOf({ ...o, runs, name }) : await composeWheelhouseOf({ ...o, runs, name });
    if (!r.ok) return failJob(o, `compose ${name}: ${r.error.message}`, r.error.toJSON());
    job.composed[name] = r.value;
    await pushComposed({ ...o, name, out: r.value });
  }
  s.end(job, 'ready', `composed ${job.composes.join(', ')}`);
}

/** With the server's store_push, a compose goes to the store remote; a push that fails is a log line: the compose succeeded. */
async function pushComposed(o: RunJobOptions & { name: string; out: ComposedOutput }): Promise<void> {
  const { service: s, job, name, out } = o;
  if (!s.o.remote?.push) return;
  const { imageComposeId } = await import('../compose/image/compose.js');
  // A matrix's images under their own tags first, then the index over them.
  const ids = [...(out.kind === 'image' && out.images ? out.images.map((i) => imageComposeId(name, i.target)) : []), out.record];
  const { pushComposeRecords } = await import('../store/remote/push-composes.js');
  const r = await pushComposeRecords({ settings: s.o.remote, store: s.o.store, recordIds: ids });
  s.appendLog(job, { text: r.ok ? `compose ${name}: pushed ${r.value.pushed.length} tag${r.value.pushed.length === 1 ? '' : 's'} to ${r.value.remote} (${r.value.present.length} there already)` : `compose ${name}: warning: push: ${r.error.message}` });
}

type ComposeStep = RunJobOptions & { runs: TargetRun[]; metadata: Metadata; name: string };

/** A wheelhouse of every target's wheels (pip picks by tag). */
async function composeWheelhouseOf(o: ComposeStep): Promise<Result<ComposedOutput, WeldError>> {
  const { service: s, job, name } = o;
  const { composePackages, findCompose, selectBuilds } = await import('../compose/select.js');
  const { composeWheelhouse } = await import('../compose/wheelhouse/compose.js');
  const { wheelhouseBuilds } = await import('../compose/wheelhouse/inputs.js');
  const onWarning = (message: string) => s.appendLog(job, { text: `compose ${name}: warning: ${message}` });
  const all = [];
  for (const { metadata, session } of o.runs) {
    const c = findCompose({ metadata, name, kind: 'wheelhouse' });
    if (!c.ok) return c;
    const closure = composePackages({ metadata, compose: c.value });
    if (!closure.ok) return closure;
    const builds = await selectBuilds({ metadata, store: s.o.store, session, compose: name, packages: closure.value.packages, onWarning });
    if (!builds.ok) return builds;
    all.push(...wheelhouseBuilds({ metadata, builds: builds.value }));
  }
  const out = path.join(s.o.composesDir, job.id, name);
  const r = await composeWheelhouse({ store: s.o.store, name, out, builds: all, tool: { name: 'weld', version: s.o.weldVersion } });
  if (!r.ok) return r;
  s.appendLog(job, { text: `composed wheelhouse ${name}: ${r.value.wheels.length} wheels, manifest ${r.value.manifest}` });
  return ok({ kind: 'wheelhouse', dir: r.value.out, manifest: r.value.manifest, record: r.value.recordId, wheels: r.value.wheels.length });
}

/**
 * An image compose: the OCI archive under the job's composes, and with podman, loaded into
 * it. With several targets, an image per target and the image index over them.
 */
async function composeImagesOf(o: ComposeStep): Promise<Result<ComposedOutput, WeldError>> {
  const { service: s, job, name } = o;
  const { composeImage } = await import('../compose/image/compose.js');
  const several = o.runs.length > 1;
  const made = [];
  for (const run of o.runs) {
    const { metadata, session, target } = run;
    const out = path.join(s.o.composesDir, job.id, several ? `${name}-${target.name}.oci.tar` : `${name}.oci.tar`);
    const r = await composeImage({
      metadata,
      store: s.o.store,
      session,
      name,
      out,
      onEvent: (e) => s.appendLog(job, { text: `compose ${name}${several ? ` (${target.name})` : ''}: ${e.type === 'phase' ? e.data.detail : `${e.data.file}: ${e.data.files} files`}` }),
      onWarning: (message) => s.appendLog(job, { text: `compose ${name}: warning: ${message}` }),
    });
    if (!r.ok) return r;
    const image = r.value;
    const arch = metadata.envs.get(metadata.composes.get(name)?.env ?? '')?.arch ?? target.arch;
    if (s.o.loadImages) {
      const { Podman } = await import('../podman/podman.js');
      const { loadImage } = await import('../podman/images.js');
      const podman = Podman.open({ root: metadata.root, arch, env: s.o.env });
      if (!podman.ok) return podman;
      const l = await loadImage({ tag: image.tag, image, blobs: s.o.store, podman: podman.value });
      if (!l.ok) return l;
      s.appendLog(job, { text: `compose ${name}: ${image.tag} ${l.value.loaded ? 'loaded into podman' : 'already in podman'}` });
    }
    s.appendLog(job, { text: `composed image ${name}${several ? ` for ${target.name}` : ''}: ${image.wheels.length} wheels, ${image.tag}, manifest ${image.manifest}` });
    made.push({ target, image, arch });
  }
  if (!several) {
    const { image, arch } = made[0]!;
    return ok({ kind: 'image', dir: image.out, manifest: image.manifest, record: image.recordId, wheels: image.wheels.length, tag: image.tag, arch });
  }
  const { composeImageIndex } = await import('../compose/image/image-index.js');
  const index = await composeImageIndex({ store: s.o.store, name, images: made, out: path.join(s.o.composesDir, job.id, `${name}.oci.tar`) });
  if (!index.ok) return index;
  if (s.o.loadImages) {
    const { Podman } = await import('../podman/podman.js');
    const { loadImageIndex } = await import('../podman/images.js');
    const podman = Podman.open({ root: o.metadata.root, arch: made[0]!.arch, env: s.o.env });
    if (!podman.ok) return podman;
    const l = await loadImageIndex({ tag: index.value.tag, images: made.map((m) => m.image.tag), podman: podman.value });
    if (!l.ok) return l;
  }
  s.appendLog(job, { text: `composed image index ${name}: ${index.value.tag} over ${made.map((m) => `${m.target.name} (${m.arch})`).join(', ')}` });
  return ok({
    kind: 'image',
    dir: index.value.out,
    manifest: index.value.index,
    record: index.value.recordId,
    wheels: made.reduce((n, m) => n + m.image.wheels.length, 0),
    tag: index.value.tag,
    images: made.map((m) => ({ target: m.target.name, arch: m.arch, tag: m.image.tag, manifest: m.image.manifest })),
  });
}
