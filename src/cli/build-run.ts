import os from 'node:os';
import type { ParsedArgs } from './args.js';
import { UsageError, WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import type { BuildSummary } from '../session/executor.js';
import type { BuildEvent } from '../session/events.js';
import { withTestNeeds } from '../plan/test-key.js';
import { matrixName, runMatrix, type TargetRun } from '../session/matrix.js';
import { jsonRenderer, liveRenderer, plainRenderer, wantsLiveView } from './build-render.js';
import { plural } from './format.js';
import type { CliIO } from './io.js';

export class BuildFailedError extends WeldError {
  readonly code = 'E_BUILD_FAILED';
  constructor(
    message: string,
    readonly summary: BuildSummary,
  ) {
    super(message);
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), summary: this.summary };
  }
}

/** --jobs, or the number of cores. */
export function jobsFromArgs(args: ParsedArgs, verb: string): Result<number, UsageError> {
  const jobs = args.options['jobs'] === undefined ? os.availableParallelism() : Number(args.options['jobs']);
  if (!Number.isInteger(jobs) || jobs < 1) return err(new UsageError(`weld ${verb}: --jobs must be a whole number of at least 1, not "${String(args.options['jobs'])}"`));
  return ok(jobs);
}

/**
 * Builds the targets with the renderer the terminal calls for (live view, plain lines or
 * JSON events) and Ctrl-C wired to stop the running builds: what `weld build` does, and
 * what `weld compose --build` does before it composes. A failed or skipped package is an error.
 */
export async function runBuild(o: {
  io: CliIO;
  /** one per target (matrix.ts) */
  runs: readonly TargetRun[];
  /** the distro has several targets: builds are shown as <package>@<target> */
  matrix: boolean;
  jobs: number;
  json: boolean;
  check?: boolean;
  keepFailed?: boolean;
  /** `--no-test` */
  noTest?: boolean;
  /** `weld test`: test the current builds, build nothing */
  testOnly?: boolean;
}): Promise<Result<BuildSummary, WeldError>> {
  const { io, json } = o;
  const rows = () =>
    o.runs.flatMap((run) => {
      const md = run.metadata;
      const names = md.graph.subgraph(o.noTest ? run.packages : withTestNeeds(md, run.packages)).order();
      return o.matrix ? names.map((p) => matrixName(p, run.target.name)) : names;
    });
  const renderer = json ? jsonRenderer(io) : wantsLiveView({ io, json }) ? await liveRenderer({ io, packages: rows() }) : plainRenderer(io);

  // Ctrl-C stops the running builds; the executor writes no record for them. Installed after
  // the live view, whose exit hook would otherwise take this `once` handler's absence for
  // "nobody else listens" and kill the process (see startBuildView).
  const abort = new AbortController();
  const onInt = () => abort.abort();
  process.once('SIGINT', onInt);
  let result;
  try {
    const common = { jobs: o.jobs, signal: abort.signal, onEvent: (e: BuildEvent) => renderer.onEvent(e), matrix: o.matrix };
    result = o.testOnly
      ? await runMatrix(o.runs, { ...common, mode: 'test' })
      : await runMatrix(o.runs, { ...common, mode: 'build', ...(o.check ? { check: true } : {}), ...(o.keepFailed ? { keepFailed: true } : {}), ...(o.noTest ? { noTest: true } : {}) });
  } finally {
    process.removeListener('SIGINT', onInt);
    // The view comes down even when the build throws, or the terminal is left mid-frame.
    await renderer.end();
  }
  if (!result.ok) return result;
  const s = result.value;
  if (!json) io.stdout.write(`${summaryLine(s)}\n`);
  if (s.failed.length || s.skipped.length) {
    const what = [s.failed.length ? `failed: ${s.failed.map((f) => f.pkg).join(', ')}` : '', s.skipped.length ? `skipped: ${s.skipped.map((f) => f.pkg).join(', ')}` : ''].filter(Boolean).join('; ');
    return err(new BuildFailedError(`build ${what}`, s));
  }
  return ok(s);
}

/** "6 packages built, 0 cached, 5 tested (2 reused), 0 failed, 0 skipped" */
export function summaryLine(s: BuildSummary): string {
  const tests = s.tested.length + s.testsReused.length;
  return `${plural(s.built.length, 'package')} built, ${s.cached.length} cached, ${s.substituted.length ? `${s.substituted.length} substituted, ` : ''}${s.shared.length ? `${s.shared.length} shared (pure wheels of another target), ` : ''}${tests} tested${s.testsReused.length ? ` (${s.testsReused.length} reused)` : ''}, ${s.failed.length} failed, ${s.skipped.length} skipped`;
}
