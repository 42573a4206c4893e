import { createWriteStream } from 'node:fs';
import { link, copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Digest } from '../core/digest.js';
import type { Package } from '../metadata/model.js';
import { mirrorPath } from '../mirror/location.js';
import type { TestKeyInputs } from '../plan/test-key.js';
import type { Runner } from '../runner/runner.js';
import type { BuildRecord, TestRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { packageEvent, placement, type BuildListener } from './events.js';
import { BuildCancelledError, BuildStepError, TestFailedError } from './failures.js';
import { logFiles } from './logs.js';
import { writeRecipe, type RecipeBundle } from './recipes.js';
import { extractTree } from './source-tree.js';

// The wheel test step (README, "Tests"): the wheel and the wheels it needs at run time,
// installed in the runtime env of the target arch, network off, then [test] imports and
// commands. Its record is written once the log is stored, passed or failed.

export interface TestOneOptions {
  pkg: Package;
  /** the build whose wheels are tested */
  build: BuildRecord;
  key: Digest;
  inputs: TestKeyInputs;
  step: RecipeBundle;
  /** every other wheel to install: name → the outputs of its current build */
  requirements: Array<{ name: string; outputs: BuildRecord['outputs'] }>;
  store: Store;
  runner: Runner;
  mirrorsDir: string;
  logsDir: string;
  workRoot: string;
  weldVersion: string;
  /** the build's, so a command that stamps files sees what the build saw */
  sourceDateEpoch: number;
  signal?: AbortSignal;
  onEvent: BuildListener;
}

export type TestOneResult = { ok: true; record: TestRecord } | { ok: false; error: TestFailedError | BuildCancelledError | BuildStepError };

const TAIL = 25;

/** The log file of a package's last test: `<pkg>.test.log` beside its build log. */
export function testLogName(pkg: string): string {
  return `${pkg}.test`;
}

export async function testOne(o: TestOneOptions): Promise<TestOneResult> {
  const name = o.pkg.name;
  const work = await mkdtemp(path.join(o.workRoot, `weld-test-${name}-`));
  await mkdir(o.logsDir, { recursive: true });
  const { final: logFile, live: liveFile, running } = logFiles({ logsDir: o.logsDir, pkg: testLogName(name), pid: process.pid });
  await writeFile(running, String(process.pid));
  const log = createWriteStream(liveFile);
  const tail: string[] = [];
  const startedAt = new Date();
  const failed = (error: TestFailedError | BuildCancelledError | BuildStepError): TestOneResult => {
    // A cancel is the executor's to report (skipped), like a cancelled build.
    if (!(error instanceof BuildCancelledError)) o.onEvent(packageEvent('test-failed', name, { testKey: o.key, error, logTail: [...tail], logFile }));
    return { ok: false, error };
  };
  try {
    o.onEvent(packageEvent('testing', name, { testKey: o.key, env: o.pkg.test.env }));
    const src = path.join(work, 'src');
    const out = path.join(work, 'out');
    const wheels = path.join(work, 'wheels');
    await Promise.all([mkdir(src), mkdir(out), mkdir(wheels)]);
    // Commands may read the source; imports alone never do, so they skip the extraction.
    if (o.pkg.test.commands.length > 0) {
      const extracted = await extractTree({ gitdir: mirrorPath(o.mirrorsDir, name), tree: o.build.sourceTree, dest: src });
      if (!extracted.ok) return failed(new BuildStepError('source', extracted.error.message, extracted.error.hint));
    }
    for (const w of [{ name, outputs: o.build.outputs }, ...o.requirements]) {
      for (const output of w.outputs) {
        if (!output.name.endsWith('.whl')) continue;
        const blob = await o.store.stat(output.digest);
        if (!blob.ok) return failed(new BuildStepError('dependency', `${w.name}'s wheel ${output.name} (${output.digest}) is missing from the store`, 'run `weld store verify --repair`, then build again'));
        await placeFile(blob.value.path, path.join(wheels, output.name));
      }
    }
    const script = await writeRecipe({ bundle: o.step, dir: path.join(work, 'step') });
    // Plain text, not JSON: under emulation Python's json module alone takes a second to import.
    const specDir = path.join(work, 'step', 'test-spec');
    await mkdir(specDir);
    await writeFile(path.join(specDir, 'imports'), o.inputs.spec.imports.map((m) => `${m}\n`).join(''));
    await Promise.all(o.inputs.spec.commands.map((c, i) => writeFile(path.join(specDir, `command-${i + 1}`), c)));
    let verdict: string | undefined;
    const ran = await o.runner.run({
      envName: o.pkg.test.env,
      recipe: script,
      srcDir: src,
      outDir: out,
      depDirs: [wheels],
      env: { WELD_PACKAGE: name, WELD_VERSION: o.pkg.version, SOURCE_DATE_EPOCH: String(o.sourceDateEpoch) },
      jobs: 1,
      ...(o.signal ? { signal: o.signal } : {}),
      onLog: (line) => {
        log.write(line + '\n');
        tail.push(line);
        if (tail.length > TAIL) tail.shift();
        // The program's verdict is its first "test: FAILED" line.
        if (verdict === undefined && line.startsWith('test: FAILED: ')) verdict = line.slice('test: FAILED: '.length);
        o.onEvent(packageEvent('log', name, { line }));
      },
      ...placement({ pkg: name, step: 'test', onEvent: o.onEvent }),
    });
    await new Promise<void>((r) => log.end(r));
    if ((!ran.ok && ran.error.failure === 'aborted') || o.signal?.aborted) return failed(new BuildCancelledError());
    const logPut = await o.store.put({ file: liveFile });
    if (!logPut.ok) return failed(new BuildStepError('log', `could not store the test log: ${logPut.error.message}`));
    const finishedAt = new Date();
    const failure = ran.ok ? undefined : (verdict ?? `the test step ${ran.error.reason}`);
    const record: TestRecord = {
      testKey: o.key,
      package: name,
      build: o.build.cacheKey,
      wheels: o.inputs.wheels,
      requirements: o.inputs.requirements,
      env: o.pkg.test.env,
      envImage: o.inputs.envImage,
      arch: o.inputs.arch,
      spec: o.inputs.spec,
      program: o.inputs.program,
      passed: ran.ok,
      ...(failure ? { failure } : {}),
      log: logPut.value.digest,
      timings: { startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), durationMs: finishedAt.getTime() - startedAt.getTime() },
      runner: o.runner.name,
      weldVersion: o.weldVersion,
    };
    const written = await o.store.writeRecords([{ kind: 'test', id: o.key, data: record }]);
    if (!written.ok) return failed(new BuildStepError('record', `could not write the test record: ${written.error.message}`, written.error.hint));
    if (failure) return failed(new TestFailedError(`test failed: ${failure}`, o.key));
    o.onEvent(packageEvent('tested', name, { testKey: o.key, reused: false, durationMs: record.timings.durationMs }));
    return { ok: true, record };
  } catch (e: unknown) {
    return failed(new BuildStepError('internal', e instanceof Error ? e.message : String(e)));
  } finally {
    if (!log.closed) await new Promise<void>((r) => log.end(r));
    await rename(liveFile, logFile).catch(() => undefined);
    await rm(running, { force: true });
    await rm(work, { recursive: true, force: true });
  }
}

/** A hard link where the store and the work dir share a file system (wheels can be large), else a copy. */
async function placeFile(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
}
