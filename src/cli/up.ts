import { existsSync } from 'node:fs';
import path from 'node:path';
import { UsageError, WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import { EnvNotFoundError } from '../envs/errors.js';
import type { Env, Metadata, Target } from '../metadata/model.js';
import type { RemoteSettings } from '../store/remote/config.js';
import type { ComposedImage } from '../compose/image/compose.js';
import type { BuildSummary } from '../session/executor.js';
import type { TargetRun } from '../session/matrix.js';
import { isMatrix, targetView } from '../metadata/targets.js';
import { archInfo } from '../podman/arch.js';
import type { Store } from '../store/store.js';
import { METADATA_OPTIONS, type ParsedArgs } from './args.js';
import { buildFlags, mirrorsFromArgs, RUNNER_OPTION, runnerFromArgs, runnerName } from './build-args.js';
import { jobsFromArgs, runBuild } from './build-run.js';
import type { VerbModule } from './commands.js';
import type { ImageStepResult } from './compose-image.js';
import type { WheelhouseStepResult } from './compose-wheelhouse.js';
import { plural } from './format.js';
import type { CliIO } from './io.js';
import { openFromArgs } from './metadata-args.js';
import { openStoreFromArgs, REMOTE_OPTIONS, remoteFromArgs, STORE_OPTION } from './store-args.js';
import { weldVersion } from './version.js';
import { RUNNER_NAMES } from '../runner/select.js';
import { closest } from '../util/suggest.js';

export const spec: VerbModule['spec'] = {
  description:
    'The main job, start to end: check the host (weld doctor, fixing what it can when run as\n' +
    'root), fetch and compose every env the distro uses, mirror every package, build them all,\n' +
    'then make every compose (wheelhouse and image). Each step is the verb of the same name,\n' +
    'so a second run reuses everything and is quick. Ends with where the results are.',
  options: {
    fix: { type: 'boolean', description: 'let weld doctor change the host (default: only when running as root)' },
    'no-fix': { type: 'boolean', description: 'never change the host; stop if it is not ready' },
    jobs: { type: 'string', short: 'j', value: '<n>', description: 'builds at once (default: the number of cores)' },
    ...RUNNER_OPTION,
    ...METADATA_OPTIONS,
    ...STORE_OPTION,
    ...REMOTE_OPTIONS,
  },
  positionals: [],
  examples: ['weld up', 'sudo weld up', 'weld up --no-fix --jobs 2'],
};

/** One step of the job: the command it stands for (shown, never parsed) and the call that does it. */
interface Step {
  command: string;
  run: () => Promise<Result<StepValue, WeldError>>;
}

/** An image of one target; `target` and `arch` are given in a distro with several targets. */
type UpImage = Omit<ImageStepResult, 'image'> & { target?: string; arch?: string; /** an image index: the arches it holds */ index?: string[] };

type StepValue = { kind: 'build'; summary: BuildSummary } | { kind: 'wheelhouse'; name: string; value: WheelhouseStepResult } | { kind: 'images'; name: string; value: UpImage[] } | { kind: 'other' };

/** What `weld up` tells at the end; also its result, for callers. */
export interface UpSummary {
  steps: Array<{ command: string; seconds: number }>;
  build?: BuildSummary;
  composes: Array<{ name: string; kind: 'wheelhouse'; value: WheelhouseStepResult } | { name: string; kind: 'image'; value: UpImage }>;
  seconds: number;
}

/** A step failed; its own error was the reason, and says which step it was. */
export class UpStepError extends WeldError {
  readonly code = 'E_UP_STEP';
  constructor(
    readonly command: string,
    readonly step: WeldError,
  ) {
    super(`\`${command}\` failed: ${step.message}`, step.hint ?? `fix that, then run \`weld up\` again: finished steps are reused`);
  }
}

export const run: VerbModule['run'] = async (args, io) => {
  // Mirroring writes the work tree's lock: the whole job has no meaning at another ref.
  if (args.options['ref'] !== undefined) return err(new UsageError('weld up works on the work tree, not at a --ref', 'for a branch, use `weld build --all --ref R` and `weld compose … --ref R`'));
  // Checked before the first step, which may change the host: a typo must not cost a doctor --fix and a mirror.
  const early = checkOptions(args, io);
  if (!early.ok) return early;
  const started = performance.now();
  const loaded = await openFromArgs(args, io);
  if (!loaded.ok) return loaded;
  const steps = plan({ metadata: loaded.value, args, io, jobs: early.value });
  const summary: UpSummary = { steps: [], composes: [], seconds: 0 };
  for (const [i, step] of steps.entries()) {
    io.stderr.write(`\n== [${i + 1}/${steps.length}] ${step.command}\n`);
    const t0 = performance.now();
    const r = await step.run();
    const seconds = (performance.now() - t0) / 1000;
    summary.steps.push({ command: step.command, seconds });
    if (!r.ok) return err(new UpStepError(step.command, r.error));
    io.stderr.write(`== ${step.command}: ${seconds.toFixed(1)} s\n`);
    const v = r.value;
    if (v.kind === 'build') summary.build = v.summary;
    else if (v.kind === 'wheelhouse') summary.composes.push({ kind: v.kind, name: v.name, value: v.value });
    else if (v.kind === 'images') for (const value of v.value) summary.composes.push({ kind: 'image', name: v.name, value });
  }
  summary.seconds = (performance.now() - started) / 1000;
  io.stdout.write(describe(summary, podmanPrefix(loaded.value, io), loaded.value.distro.arch));
  return ok(summary);
};

/** What the steps would refuse later, refused now; the number of jobs. */
function checkOptions(args: ParsedArgs, io: CliIO): Result<number, UsageError> {
  if (args.options['fix'] && args.options['no-fix']) return err(new UsageError('weld up: --fix and --no-fix exclude each other; pick one'));
  const jobs = jobsFromArgs(args, 'up');
  if (!jobs.ok) return jobs;
  const runner = runnerName(args, io.env);
  if (!RUNNER_NAMES.includes(runner)) {
    const guess = closest(runner, RUNNER_NAMES);
    return err(new UsageError(`weld up: unknown runner "${runner}"${guess ? `; did you mean "${guess}"?` : ''}`, `known runners: ${RUNNER_NAMES.join(', ')} (--runner or WELD_RUNNER)`));
  }
  return jobs;
}

/**
 * The job for this distro: doctor, its envs, mirror, build and each compose, as library
 * calls. The store is opened once, at the first step that needs it; the metadata is read
 * again after the mirror (which rewrites its lock), and the build and the composes are one
 * build session on it, so a compose takes the build's records as they are.
 */
function plan(o: { metadata: Metadata; args: ParsedArgs; io: CliIO; jobs: number }): Step[] {
  const { args, io } = o;
  const options = args.options;
  const flag = (...names: string[]) => names.flatMap((n) => (typeof options[n] === 'string' ? [`--${n} ${options[n] as string}`] : []));
  const shown = (...words: string[]) => ['weld', ...words].join(' ');
  const meta = flag('metadata');
  const storeFlag = flag('store');
  const mayFix = options['no-fix'] !== true && (options['fix'] === true || process.getuid?.() === 0);
  const first = o.metadata;
  let opening: Promise<Result<Store, WeldError>> | undefined;
  const store = () => (opening ??= openStoreFromArgs(args, io, { create: true, metadata: first }).then((r) => (r.ok ? ok(r.value.store) : r)));
  let runs: TargetRun[] | undefined;
  // Every target's envs: its builder and runtime env, and those its packages and images name.
  const envs = new Set<string>();
  const composes = [...first.composes.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const t of first.distro.targets) {
    const view = targetView(first, t.name);
    for (const p of view.packages.values()) {
      envs.add(p.env);
      if (p.test.env && (p.test.imports.length || p.test.commands.length)) envs.add(p.test.env);
    }
    for (const c of view.composes.values()) if (c.kind === 'image' && c.env) envs.add(c.env);
  }
  const arches = [...new Set(first.distro.targets.map((t) => t.arch))];
  const other = { kind: 'other' } as const;

  const steps: Step[] = arches.map((arch) => ({
    command: shown('doctor', ...(mayFix ? ['--fix'] : []), '--arch', arch),
    run: async () => {
      const { checkHost } = await import('./doctor.js');
      const r = await checkHost({ profile: 'build', arch, fix: mayFix, json: false, io });
      return r.ok ? ok(other) : r;
    },
  }));
  // Both env steps need the env and the store; only the call differs.
  const envStep = (name: string, verb: 'fetch' | 'compose', call: (env: Env, s: Store) => Promise<Result<unknown, WeldError>>): Step => ({
    command: shown('env', verb, name, ...meta, ...storeFlag),
    run: async () => {
      const env = first.envs.get(name);
      if (!env) return err(envMissing(first, name));
      const s = await store();
      if (!s.ok) return s;
      const r = await call(env, s.value);
      return r.ok ? ok(other) : r;
    },
  });
  // With a store remote, an env image pushed there for the same lock is taken: no debs fetched, nothing composed.
  let resolving: ReturnType<typeof remoteFromArgs> | undefined;
  const envRemote = async () => {
    const r = await (resolving ??= remoteFromArgs(args, io, { metadata: first }));
    return r.ok ? ok(r.value ? { remote: r.value } : {}) : r;
  };
  for (const name of [...envs].sort()) {
    const withRemote = async <T,>(step: (remote: { remote?: RemoteSettings }) => Promise<Result<T, WeldError>>) => {
      const r = await envRemote();
      return r.ok ? step(r.value) : r;
    };
    steps.push(envStep(name, 'fetch', (env, s) => withRemote(async (remote) => (await import('./env.js')).fetchUnlessComposed({ env, store: s, io, json: false, ...remote }))));
    steps.push(envStep(name, 'compose', (env, s) => withRemote(async (remote) => (await import('./env.js')).composeStep({ metadata: first, env, store: s, io, json: false, force: false, load: true, ...remote }))));
  }
  steps.push({
    command: shown('mirror', '--all', ...meta, ...storeFlag, ...flag('mirrors')),
    run: async () => {
      const { mirrorStep } = await import('./mirror.js');
      const r = await mirrorStep({ metadata: first, names: [...first.packages.keys()], mirrorsDir: mirrorsFromArgs({ args, io, metadata: first }), store, jobs: 4, refresh: false, json: false, io });
      return r.ok ? ok(other) : r;
    },
  });
  steps.push({
    command: shown('build', '--all', ...meta, ...storeFlag, ...flag('mirrors', 'runner', 'jobs')),
    run: async () => {
      // The mirror rewrote the lock: builds key on the lock as it is now.
      const metadata = await openFromArgs(args, io);
      if (!metadata.ok) return metadata;
      const s = await store();
      if (!s.ok) return s;
      const remote = await remoteFromArgs(args, io, { metadata: metadata.value });
      if (!remote.ok) return remote;
      const runner = await runnerFromArgs({ args, io, metadata: metadata.value, store: s.value, ...(remote.value ? { registry: remote.value } : {}) });
      if (!runner.ok) return runner;
      const { openMatrix } = await import('../session/matrix.js');
      runs = openMatrix({ metadata: metadata.value, targets: metadata.value.distro.targets, packages: [...metadata.value.packages.keys()].sort(), store: s.value, runner: runner.value, mirrorsDir: mirrorsFromArgs({ args, io, metadata: metadata.value }), weldVersion: weldVersion(), ...(remote.value ? { remote: remote.value } : {}) });
      const built = await runBuild({ io, runs, matrix: isMatrix(metadata.value), jobs: o.jobs, json: false });
      return built.ok ? ok({ kind: 'build', summary: built.value }) : built;
    },
  });
  const flags = buildFlags(args);
  // With [store] push = true a compose goes to the store remote, as `weld compose` pushes it.
  const push = async (name: string, recordIds: string[]): Promise<Result<void, WeldError>> => {
    const s = await store();
    if (!s.ok) return s;
    const { pushComposed } = await import('./compose-push.js');
    await pushComposed({ args, io, metadata: first, store: s.value, name, recordIds, json: false });
    return ok(undefined);
  };
  for (const c of composes) {
    steps.push({
      command: shown('compose', c.kind, c.name, ...meta, ...storeFlag, ...flag('mirrors', 'runner')),
      run: async () => {
        if (!runs) throw new Error('bug: a weld up compose ran before its build');
        const root = first.root;
        if (c.kind === 'wheelhouse') {
          const { wheelhousePackages, wheelhouseStep } = await import('./compose-wheelhouse.js');
          const wanted = wheelhousePackages({ metadata: first, name: c.name, targets: first.distro.targets.filter((t) => c.targets.includes(t.name)) });
          if (!wanted.ok) return wanted;
          const { ComposePackagesError } = await import('../compose/errors.js');
          if ([...wanted.value.values()].every((p) => p.length === 0)) return err(new ComposePackagesError(c.name, c.file, ['has no wheel packages'], 'name wheel packages in packages = […], or add some to the distro'));
          const own = runs.map((r) => ({ ...r, packages: wanted.value.get(r.target.name) ?? [] })).filter((r) => r.packages.length > 0);
          const r = await wheelhouseStep({ io, runs: own, name: c.name, out: path.join(root, 'out', 'wheelhouse', c.name), json: false, buildFlags: flags });
          if (!r.ok) return r;
          const pushed = await push(c.name, [r.value.record]);
          return pushed.ok ? ok({ kind: 'wheelhouse', name: c.name, value: r.value }) : pushed;
        }
        const { imageFile, imageStep } = await import('./compose-image.js');
        const images: UpImage[] = [];
        const composed: Array<{ target: Target; image: ComposedImage }> = [];
        for (const run of runs.filter((r) => r.metadata.composes.has(c.name))) {
          const r = await imageStep({ io, session: run.session, name: c.name, out: imageFile(run.metadata, c.name), json: false, load: true, buildFlags: flags });
          if (!r.ok) return r;
          const { image: _composed, ...shown } = r.value;
          images.push({ ...shown, ...(run.metadata.distro.viewOf ? { target: run.target.name, arch: run.target.arch } : {}) });
          composed.push({ target: run.target, image: r.value.image });
        }
        if (images.length > 1) {
          const s = await store();
          if (!s.ok) return s;
          const { indexStep } = await import('./compose-image.js');
          const index = await indexStep({ io, store: s.value, root, name: c.name, images: composed, json: false, load: true });
          if (!index.ok) return index;
          images.push({ tag: index.value.tag, file: index.value.out, manifest: index.value.index, index: [...new Set(composed.map((x) => x.target.arch))] });
          const pushed = await push(c.name, [...composed.map((x) => x.image.recordId), index.value.recordId]);
          if (!pushed.ok) return pushed;
        } else {
          const pushed = await push(c.name, composed.map((x) => x.image.recordId));
          if (!pushed.ok) return pushed;
        }
        return ok({ kind: 'images', name: c.name, value: images });
      },
    });
  }
  return steps;
}

function envMissing(m: Metadata, name: string): WeldError {
  return new EnvNotFoundError(name, [...m.envs.keys()].sort(), closest(name, [...m.envs.keys()]));
}

/** How to call podman by hand on this host: with weld's containers.conf when weld needs one. */
function podmanPrefix(metadata: Metadata, io: CliIO): string {
  const conf = path.join(metadata.root, '.weld', 'podman', 'containers.conf');
  return !io.env['CONTAINERS_CONF'] && existsSync(conf) ? `CONTAINERS_CONF=${conf} podman` : 'podman';
}

function describe(s: UpSummary, podman: string, arch: string): string {
  const lines = [`\nweld up: done in ${s.seconds.toFixed(1)} s`];
  if (s.build) {
    lines.push(`  packages: ${plural(s.build.built.length, 'package')} built, ${s.build.cached.length} reused from the store${s.build.substituted.length ? `, ${s.build.substituted.length} substituted from the store remote` : ''}`);
    lines.push(`  tests: ${plural(s.build.tested.length + s.build.testsReused.length, 'wheel')} passed on ${arch} (${s.build.tested.length} run, ${s.build.testsReused.length} reused)`);
  }
  for (const c of s.composes) lines.push(...describeCompose(c, podman, arch));
  return lines.join('\n') + '\n';
}

function describeCompose(c: UpSummary['composes'][number], podman: string, arch: string): string[] {
  if (c.kind === 'wheelhouse') {
    const dir = c.value.dir;
    return [`  wheelhouse ${c.name}: ${dir}`, `    pip install --index-url file://${dir}/simple <package>`, `    or serve it: weld serve --wheelhouse ${dir}`];
  }
  const v = c.value;
  if (v.index) return [`  image index ${c.name}: ${v.tag} (${v.file})`, ...v.index.map((a) => `    ${podman} run --arch ${archInfo(a).oci} --rm -it ${v.tag}`)];
  return [`  image ${c.name}${v.target ? ` for ${v.target}` : ''}: ${v.tag}${v.file ? ` (${v.file})` : ''}`, `    ${podman} run --arch ${archInfo(v.arch ?? arch).oci} --rm -it ${v.tag}`];
}
