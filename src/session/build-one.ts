import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Package } from '../metadata/model.js';
import { mirrorPath } from '../mirror/location.js';
import type { KeyInputs } from '../plan/cache-key.js';
import type { Runner } from '../runner/runner.js';
import type { Digest } from '../store/digest.js';
import type { BuildOutput, BuildRecord, RepairRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { packageEvent, placement, type BuildListener, type CheckResult } from './events.js';
import { BuildCancelledError, BuildStepError, RepairFailedError, type BuildFailure } from './failures.js';
import { logFiles } from './logs.js';
import { extractTar, storeOutputs } from './outputs.js';
import { provenanceStatement } from './provenance.js';
import type { RecipeBundle } from './recipes.js';
import { writeRecipe } from './recipes.js';
import { repairWheels } from './repair.js';
import { extractTree } from './source-tree.js';

export interface BuildOneOptions {
  pkg: Package;
  key: Digest;
  inputs: KeyInputs;
  /** why it builds, for the started event */
  changed: string[];
  distroCommit: string;
  recipe: RecipeBundle;
  /** the wheel repair step, run after a wheel recipe (inputs.repair says with which policy) */
  repairStep?: RecipeBundle;
  /** outputs of each build dependency, and its kind */
  deps: Array<{ name: string; kind: 'wheel' | 'pack'; outputs: BuildOutput[] }>;
  store: Store;
  runner: Runner;
  mirrorsDir: string;
  /** where the live log of each package is written (<root>/.weld/logs) */
  logsDir: string;
  workRoot: string;
  jobs: number;
  weldVersion: string;
  /** the record this key already has: --check compares against it and leaves it in place */
  existing?: BuildRecord;
  keepFailed?: boolean;
  signal?: AbortSignal;
  onEvent: BuildListener;
}

/** `record`: the key's record now (under --check, the one that was already there) */
export type BuildOneResult = { ok: true; outputs: BuildOutput[]; record: BuildRecord; check?: CheckResult } | { ok: false; error: BuildFailure };

const TAIL = 25;

/**
 * Runs one build and, only when every blob is stored, writes its record. Whatever
 * throws (a full disk, an unwritable .weld/) fails this build, not the whole run:
 * sibling builds keep their events and their supervision.
 */
export async function buildOne(o: BuildOneOptions): Promise<BuildOneResult> {
  try {
    return await buildOneUnguarded(o);
  } catch (e: unknown) {
    const error = new BuildStepError('internal', e instanceof Error ? e.message : String(e));
    o.onEvent(packageEvent('failed', o.pkg.name, { key: o.key, error, logTail: [] }));
    return { ok: false, error };
  }
}

async function buildOneUnguarded(o: BuildOneOptions): Promise<BuildOneResult> {
  const name = o.pkg.name;
  const work = await mkdtemp(path.join(o.workRoot, `weld-build-${name}-`));
  await mkdir(o.logsDir, { recursive: true });
  // Written under this process's own name, then renamed to <pkg>.log when the build
  // ends: two weld processes building one package never share (or truncate) a file.
  const { final: logFile, live: liveFile, running } = logFiles({ logsDir: o.logsDir, pkg: name, pid: process.pid });
  await writeFile(running, String(process.pid));
  const log = createWriteStream(liveFile);
  const tail: string[] = [];
  const startedAt = new Date();
  let keep = false;
  const fail = async (error: BuildFailure): Promise<BuildOneResult> => {
    await new Promise<void>((r) => log.end(r));
    keep = !cancelled(error) && o.keepFailed === true;
    o.onEvent(packageEvent('failed', name, { key: o.key, error, logTail: [...tail], logFile, ...(keep ? { keptDir: work } : {}) }));
    return { ok: false, error };
  };
  try {
    const src = path.join(work, 'src');
    const out = path.join(work, 'out');
    await Promise.all([mkdir(src), mkdir(out)]);
    const extracted = await extractTree({ gitdir: mirrorPath(o.mirrorsDir, name), tree: o.inputs.sourceTree, dest: src });
    if (!extracted.ok) return await fail(new BuildStepError('source', extracted.error.message, extracted.error.hint));
    const depDirs: string[] = [];
    for (const d of o.deps) {
      const dir = path.join(work, 'deps', d.name);
      await mkdir(dir, { recursive: true });
      const placed = await placeDependency({ store: o.store, dep: d, dir });
      if (placed) return await fail(new BuildStepError('dependency', `dependency ${d.name}: ${placed}`));
      depDirs.push(dir);
    }
    const recipe = await writeRecipe({ bundle: o.recipe, dir: path.join(work, 'recipe') });
    o.onEvent(packageEvent('started', name, { key: o.key, changed: o.changed }));
    const onLog = (line: string) => {
      log.write(line + '\n');
      tail.push(line);
      if (tail.length > TAIL) tail.shift();
      o.onEvent(packageEvent('log', name, { line }));
    };
    const env = { ...o.pkg.vars, WELD_PACKAGE: name, WELD_VERSION: o.pkg.version, SOURCE_DATE_EPOCH: String(o.inputs.sourceDateEpoch) };
    const ran = await o.runner.run({
      envName: o.pkg.env,
      recipe,
      srcDir: src,
      outDir: out,
      depDirs,
      env,
      jobs: o.jobs,
      ...(o.signal ? { signal: o.signal } : {}),
      onLog,
      ...placement({ pkg: name, step: 'build', ...(o.pkg.labels ? { labels: o.pkg.labels } : {}), onEvent: o.onEvent }),
    });
    if (!ran.ok) return await fail(ran.error.failure === 'aborted' ? new BuildCancelledError() : ran.error);
    let storedFrom = out;
    let repair: RepairRecord | undefined;
    if (o.pkg.kind === 'wheel' && o.inputs.repair) {
      if (!o.repairStep) return await fail(new RepairFailedError('the wheel repair step (recipes/lib/repair-step.sh) is missing'));
      const repaired = await repairWheels({
        runner: o.runner,
        envName: o.pkg.env,
        step: o.repairStep,
        policy: o.inputs.repair.policy,
        program: o.inputs.repair.program,
        wheelsDir: path.join(out, 'wheels'),
        work,
        depDirs,
        depNames: o.deps.map((d) => d.name),
        env,
        jobs: o.jobs,
        store: o.store,
        ...(o.signal ? { signal: o.signal } : {}),
        onLog,
        placement: placement({ pkg: name, step: 'repair', ...(o.pkg.labels ? { labels: o.pkg.labels } : {}), onEvent: o.onEvent }),
      });
      if (!repaired.ok) return await fail(repaired.cancelled ? new BuildCancelledError() : new RepairFailedError(repaired.reason));
      storedFrom = path.dirname(repaired.wheelsDir);
      repair = repaired.record;
    }
    const stored = await storeOutputs({ store: o.store, kind: o.pkg.kind, outDir: storedFrom, sourceDateEpoch: o.inputs.sourceDateEpoch });
    if ('reason' in stored) return await fail(new BuildStepError('outputs', stored.reason));
    await new Promise<void>((r) => log.end(r));
    if (o.signal?.aborted) return await fail(new BuildCancelledError());
    const logPut = await o.store.put({ file: liveFile });
    if (!logPut.ok) return await fail(new BuildStepError('log', `could not store the log: ${logPut.error.message}`));
    const finishedAt = new Date();
    const record: BuildRecord = {
      cacheKey: o.key,
      package: name,
      version: o.pkg.version,
      release: o.pkg.release,
      arch: o.inputs.arch,
      envImage: o.inputs.envImage,
      sourceTree: o.inputs.sourceTree,
      recipe: { name: o.inputs.recipe.name, digest: o.inputs.recipe.digest },
      dependencies: o.inputs.deps,
      outputs: stored.outputs,
      log: logPut.value.digest,
      timings: { startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), durationMs: finishedAt.getTime() - startedAt.getTime() },
      runner: o.runner.name,
      weldVersion: o.weldVersion,
      provenance: null,
      ...(repair ? { repair } : {}),
    };
    const prov = await o.store.put([Buffer.from(provenanceStatement({ record, distroCommit: o.distroCommit, vars: o.pkg.vars, kind: o.pkg.kind }))]);
    if (!prov.ok) return await fail(new BuildStepError('provenance', `could not store the provenance: ${prov.error.message}`));
    record.provenance = prov.value.digest;
    const check = o.existing ? compareOutputs(o.existing.outputs, stored.outputs) : undefined;
    // --check leaves the recorded build alone: it is the reference being checked against.
    if (!o.existing) {
      // A last look before the record: Ctrl-C during the stores leaves no record behind.
      if (o.signal?.aborted) return await fail(new BuildCancelledError());
      const written = await o.store.writeRecords([{ kind: 'build', id: o.key, data: record }]);
      if (!written.ok) return await fail(new BuildStepError('record', `could not write the build record: ${written.error.message}`, written.error.hint));
    }
    o.onEvent(packageEvent('done', name, { key: o.key, outputs: stored.outputs, durationMs: record.timings.durationMs, ...(check ? { check } : {}) }));
    return { ok: true, outputs: stored.outputs, record: o.existing ?? record, ...(check ? { check } : {}) };
  } finally {
    if (!log.closed) await new Promise<void>((r) => log.end(r));
    await rename(liveFile, logFile).catch(() => undefined);
    await rm(running, { force: true });
    if (!keep) await rm(work, { recursive: true, force: true });
  }
}

/** Puts a dependency's outputs where its dependents find them: a pack's prefix, or its wheels. */
async function placeDependency(opts: { store: Store; dep: { kind: 'wheel' | 'pack'; outputs: BuildOutput[] }; dir: string }): Promise<string | undefined> {
  for (const out of opts.dep.outputs) {
    const blob = await opts.store.stat(out.digest);
    if (!blob.ok) return `its output ${out.name} (${out.digest}) is missing from the store; run \`weld store verify --repair\``;
    if (opts.dep.kind === 'pack') {
      const stream = await opts.store.get(out.digest);
      if (!stream.ok) return `its output ${out.name} vanished from the store`;
      const problem = await extractTar({ input: stream.value, dest: opts.dir });
      if (problem) return `could not unpack ${out.name}: ${problem}`;
    } else {
      await mkdir(path.join(opts.dir, 'wheels'), { recursive: true });
      await copyFile(blob.value.path, path.join(opts.dir, 'wheels', out.name));
    }
  }
  return undefined;
}

const cancelled = (e: BuildFailure) => e instanceof BuildCancelledError;

export function compareOutputs(recorded: BuildOutput[], rebuilt: BuildOutput[]): CheckResult {
  const differences: string[] = [];
  const before = new Map(recorded.map((o) => [o.name, o.digest]));
  const after = new Map(rebuilt.map((o) => [o.name, o.digest]));
  for (const [n, d] of before) {
    const now = after.get(n);
    if (now === undefined) differences.push(`${n}: recorded, not rebuilt`);
    else if (now !== d) differences.push(`${n}: ${d} recorded, ${now} rebuilt`);
  }
  for (const n of after.keys()) if (!before.has(n)) differences.push(`${n}: rebuilt, not recorded`);
  return { compared: true, match: differences.length === 0, differences };
}
