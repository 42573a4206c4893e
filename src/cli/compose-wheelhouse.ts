import path from 'node:path';
import { UsageError, type WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import type { TargetRun } from '../session/matrix.js';
import type { WheelhouseBuild } from '../compose/wheelhouse/compose.js';
import { composePackages, findCompose } from '../compose/select.js';
import { ComposePackagesError, MissingBuildsError } from '../compose/errors.js';
import { isMatrix, targetView } from '../metadata/targets.js';
import type { Metadata, Target } from '../metadata/model.js';
import { METADATA_OPTIONS, type ParsedArgs } from './args.js';
import { buildFlags, metadataForRunner, mirrorsFromArgs, RUNNER_OPTION, runnerFromArgs, TARGET_OPTION, targetsFromArgs } from './build-args.js';
import { jobsFromArgs, runBuild } from './build-run.js';
import type { VerbModule } from './commands.js';
import { plural } from './format.js';
import type { WheelhouseListener } from '../compose/wheelhouse/events.js';
import { eventLines } from './event-lines.js';
import type { CliIO } from './io.js';
import { asArgument } from './package-names.js';
import { openStoreFromArgs, REMOTE_OPTIONS, STORE_OPTION } from './store-args.js';
import { weldVersion } from './version.js';

// `weld compose wheelhouse [name]`: the `weld compose` dispatcher hands this module the
// arguments after "wheelhouse".

export const spec: VerbModule['spec'] = {
  options: {
    out: { type: 'string', value: '<dir>', description: 'where to write (default: out/wheelhouse/<name> in the project root); replaced whole' },
    build: { type: 'boolean', description: 'wheelhouse: build what is missing first' },
    jobs: { type: 'string', short: 'j', value: '<n>', description: 'wheelhouse, with --build: builds at once (default: the number of cores)' },
    json: { type: 'boolean', description: 'print the result as JSON' },
    ...RUNNER_OPTION,
    ...TARGET_OPTION,
    ...METADATA_OPTIONS,
    ...STORE_OPTION,
    ...REMOTE_OPTIONS,
  },
  positionals: [{ name: 'name' }],
};

export const run: VerbModule['run'] = async (args, io) => {
  if (args.options['jobs'] !== undefined && !args.options['build']) return err(new UsageError('weld compose wheelhouse: --jobs goes with --build'));
  const jobs = jobsFromArgs(args, 'compose wheelhouse');
  if (!jobs.ok) return jobs;
  const loaded = await metadataForRunner(args, io);
  if (!loaded.ok) return loaded;
  const metadata = loaded.value;
  const compose = asArgument(findCompose({ metadata, name: args.positionals[0], kind: 'wheelhouse' }));
  if (!compose.ok) return compose;
  const name = compose.value.name;
  const targets = targetsFromArgs(args, metadata, 'compose wheelhouse');
  if (!targets.ok) return targets;
  const wanted = wheelhousePackages({ metadata, name, targets: targets.value.filter((t) => compose.value.targets.includes(t.name)) });
  if (!wanted.ok) return wanted;
  const packages = [...new Set([...wanted.value.values()].flat())].sort();
  // The metadata's state, not the command line: exit 1.
  if (packages.length === 0) return err(new ComposePackagesError(name, compose.value.file, ['has no wheel packages'], 'name wheel packages in packages = […], or add some to the distro'));
  const flags = buildFlags(args);
  const build = args.options['build'] === true;
  const opened = await openStoreFromArgs(args, io, { create: build, metadata });
  if (!opened.ok) {
    if (opened.error.code !== 'E_STORE_NOT_FOUND') return opened;
    return err(new MissingBuildsError(name, packages.map((p) => ({ package: p, reason: `never built (${opened.error.message})` })), flags, true));
  }
  const store = opened.value.store;
  const runner = await runnerFromArgs({ args, io, metadata, store });
  if (!runner.ok) return runner;
  const quiet = args.options['json'] === true;
  // One session per target: --build's plan and preparation are the compose's too.
  const { openMatrix } = await import('../session/matrix.js');
  const runs = openMatrix({ metadata, targets: targets.value, packages: (view) => wanted.value.get(view.distro.targets[0]!.name) ?? [], store, runner: runner.value, mirrorsDir: mirrorsFromArgs({ args, io, metadata }), weldVersion: weldVersion() });
  if (build) {
    const built = await runBuild({ io, runs, matrix: isMatrix(metadata), jobs: jobs.value, json: quiet });
    if (!built.ok) return built;
  }
  const r = await wheelhouseStep({ io, runs, name, out: outDir({ args, io, metadata, name }), json: quiet, buildFlags: flags, offerBuild: true });
  if (!r.ok) return r;
  const { pushComposed } = await import('./compose-push.js');
  await pushComposed({ args, io, metadata, store, name, recordIds: [r.value.record], json: quiet });
  return r;
};

/**
 * The wheels a wheelhouse compose takes in each target: the packages it names that the
 * target builds, and what they need at run time.
 */
export function wheelhousePackages(o: { metadata: Metadata; name: string; targets: readonly Target[] }): Result<Map<string, string[]>, WeldError> {
  const out = new Map<string, string[]>();
  for (const t of o.targets) {
    const view = targetView(o.metadata, t.name);
    const found = findCompose({ metadata: view, name: o.name, kind: 'wheelhouse' });
    if (!found.ok) continue; // narrowed to other targets
    const closure = composePackages({ metadata: view, compose: found.value });
    if (!closure.ok) return closure;
    out.set(t.name, closure.value.packages);
  }
  return ok(out);
}

/** What `weld up` reports of a wheelhouse. */
export interface WheelhouseStepResult {
  dir: string;
  manifest: string;
  wheels: number;
  /** the compose record's id, wheelhouse/<name> */
  record: string;
}

/**
 * The wheelhouse of a compose from the session's current builds (after a build in the same
 * session, its records: nothing is planned again), printed as `weld compose wheelhouse` prints it.
 */
export async function wheelhouseStep(o: { io: CliIO; runs: readonly TargetRun[]; name: string; out: string; json: boolean; buildFlags: string[]; offerBuild?: boolean }): Promise<Result<WheelhouseStepResult, WeldError>> {
  const { io, name, out } = o;
  const store = o.runs[0]?.session.o.store;
  if (!store) throw new Error('bug: a wheelhouse from a session without a store');
  const quiet = o.json;
  const { selectBuilds } = await import('../compose/select.js');
  const { wheelhouseBuilds } = await import('../compose/wheelhouse/inputs.js');
  const onWarning = (message: string) => void io.stderr.write(`weld: warning: ${message}\n`);
  // Every target's wheels in one index: pip picks the one for its Python and arch.
  const all: WheelhouseBuild[] = [];
  for (const run of o.runs) {
    const { metadata, session } = run;
    const builds = await selectBuilds({ metadata, store, session, compose: run.target.name === metadata.distro.viewOf ? `${name} (target ${run.target.name})` : name, packages: run.packages, buildFlags: o.buildFlags, onWarning, ...(o.offerBuild ? { offerBuild: true } : {}) });
    if (!builds.ok) return builds;
    all.push(...wheelhouseBuilds({ metadata, builds: builds.value }));
  }
  const { composeWheelhouse } = await import('../compose/wheelhouse/compose.js');
  const t0 = performance.now();
  const lines = quiet ? eventLines(io) : undefined;
  const onEvent = lines ? lines.write : plainReporter(io);
  const r = await composeWheelhouse({ store, name, out, builds: all, tool: { name: 'weld', version: weldVersion() }, onEvent });
  lines?.end();
  if (!r.ok) return r;
  const v = r.value;
  // What `weld up` reports of this step.
  const result: WheelhouseStepResult = { dir: v.out, manifest: v.manifest, wheels: v.wheels.length, record: v.recordId };
  if (lines) {
    lines.summary({ subject: { kind: 'compose', name }, data: { compose: name, out: v.out, manifest: v.manifest, record: v.recordId, linked: v.linked, copied: v.copied, wheels: v.wheels.map((w) => ({ file: w.file, project: w.project, version: w.version, digest: w.digest, package: w.package })) } });
    return ok(result);
  }
  const projects = new Set(v.wheels.map((w) => w.project)).size;
  const rel = path.relative(io.cwd, v.out) || '.';
  const placed = v.copied ? `${v.linked} linked, ${v.copied} copied` : 'hard-linked from the store';
  io.stdout.write(`${name}: ${plural(v.wheels.length, 'wheel')} of ${plural(projects, 'project')} → ${rel} (${placed}; ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  io.stdout.write(`  pip install --index-url file://${v.out}/simple <project>    or    weld serve --wheelhouse ${rel}\n`);
  return ok(result);
}

/** A line on stderr per wheel placed, as `compose image` has per wheel installed. */
function plainReporter(io: CliIO): WheelhouseListener {
  return (e) => {
    if (e.type === 'placed') io.stderr.write(`${e.subject.name}: ${e.data.file}: ${e.data.how === 'linked' ? 'hard-linked' : 'copied'} from the store\n`);
  };
}

function outDir(o: { args: ParsedArgs; io: CliIO; metadata: Metadata; name: string }): string {
  const flag = o.args.options['out'];
  return typeof flag === 'string' ? path.resolve(o.io.cwd, flag) : path.join(o.metadata.root, 'out', 'wheelhouse', o.name);
}
