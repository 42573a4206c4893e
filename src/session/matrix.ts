import type { WeldError } from '../core/errors.js';
import { ok, type Result } from '../core/result.js';
import type { Metadata, Target } from '../metadata/model.js';
import { targetView } from '../metadata/targets.js';
import type { BuildEvent, BuildListener } from './events.js';
import type { BuildSummary } from './executor.js';
import { PureWheels } from './pure-wheels.js';
import { openSession, type BuildSession, type SessionBuildOptions, type SessionOptions } from './session.js';

// A build of several targets: one session per target, over that target's view of the
// metadata, run one target after the other so that a pure wheel the first target built is
// recorded for the others instead of built again (pure-wheels.ts). Within a target, builds
// run in parallel as always. In a distro with several targets, events and the summary name
// each build `<package>@<target>`, and events carry `subject.target`.

export interface TargetRun {
  target: Target;
  metadata: Metadata;
  session: BuildSession;
  /** what to build (or test) in this target: the asked-for packages it builds */
  packages: string[];
}

/** The name of a package's build in a target, as a matrix's events and summaries give it. */
export function matrixName(pkg: string, target: string): string {
  return `${pkg}@${target}`;
}

/**
 * A session per target, for the packages of `packages` that the target builds. A target
 * that builds none of them is left out.
 */
export function openMatrix(o: Omit<SessionOptions, 'metadata'> & { metadata: Metadata; targets: readonly Target[]; packages: readonly string[] | ((view: Metadata) => string[]) }): TargetRun[] {
  const { metadata, targets, packages, ...rest } = o;
  const runs: TargetRun[] = [];
  for (const target of targets) {
    const view = targetView(metadata, target.name);
    const mine = typeof packages === 'function' ? packages(view) : packages.filter((p) => view.packages.has(p));
    if (mine.length === 0) continue;
    runs.push({ target, metadata: view, session: openSession({ ...rest, metadata: view }), packages: mine });
  }
  return runs;
}

/** Builds (`mode: 'build'`) or tests each run in turn; one summary for all of them. */
export async function runMatrix(
  runs: readonly TargetRun[],
  opts: Omit<SessionBuildOptions, 'targets' | 'pure'> & { mode: 'build' | 'test'; matrix: boolean },
): Promise<Result<BuildSummary, WeldError>> {
  const pure = new PureWheels();
  const total: BuildSummary = { built: [], cached: [], substituted: [], shared: [], failed: [], skipped: [], checks: {}, tested: [], testsReused: [] };
  for (const run of runs) {
    const onEvent = opts.onEvent && opts.matrix ? renamed(opts.onEvent, run.target.name) : opts.onEvent;
    const { mode, matrix: _m, ...rest } = opts;
    const common = { ...rest, targets: run.packages, ...(onEvent ? { onEvent } : {}) };
    const r = mode === 'test' ? await run.session.test(common) : await run.session.build({ ...common, pure });
    if (!r.ok) return r;
    merge(total, r.value, opts.matrix ? (p) => matrixName(p, run.target.name) : (p) => p);
  }
  for (const key of ['built', 'cached', 'substituted', 'shared', 'tested', 'testsReused'] as const) total[key].sort();
  return ok(total);
}

function renamed(listener: BuildListener, target: string): BuildListener {
  return (e: BuildEvent) => {
    if (!e.subject) return listener(e);
    listener({ ...e, subject: { ...e.subject, name: matrixName(e.subject.name, target), target } } as BuildEvent);
  };
}

function merge(into: BuildSummary, s: BuildSummary, name: (pkg: string) => string): void {
  for (const key of ['built', 'cached', 'substituted', 'shared', 'tested', 'testsReused'] as const) into[key].push(...s[key].map(name));
  into.failed.push(...s.failed.map((f) => ({ ...f, pkg: name(f.pkg) })));
  into.skipped.push(...s.skipped.map((f) => ({ ...f, pkg: name(f.pkg) })));
  for (const [p, c] of Object.entries(s.checks)) into.checks[name(p)] = c;
}
