import { existsSync } from 'node:fs';
import path from 'node:path';
import { UsageError, WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import type { BuildSummary } from '../session/executor.js';
import type { Metadata } from '../metadata/model.js';
import { METADATA_OPTIONS, parseCommandArgs, type ParsedArgs } from './args.js';
import { RUNNER_OPTION, runnerName } from './build-args.js';
import { jobsFromArgs } from './build-run.js';
import { VERBS, type VerbModule } from './commands.js';
import { plural } from './format.js';
import type { CliIO } from './io.js';
import { openFromArgs } from './metadata-args.js';
import { STORE_OPTION } from './store-args.js';
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
  },
  positionals: [],
  examples: ['weld up', 'sudo weld up', 'weld up --no-fix --jobs 2'],
};

/** One step of the job: a verb and its arguments. */
interface Step {
  verb: string;
  argv: string[];
}

/** What `weld up` tells at the end; also its result, for callers. */
export interface UpSummary {
  steps: Array<{ command: string; seconds: number }>;
  build?: BuildSummary;
  composes: Array<{ name: string; kind: 'wheelhouse' | 'image'; value: unknown }>;
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
  const metadata = loaded.value;
  const steps = plan(metadata, args.options);
  const summary: UpSummary = { steps: [], composes: [], seconds: 0 };
  for (const [i, step] of steps.entries()) {
    const command = ['weld', step.verb, ...step.argv].join(' ');
    io.stderr.write(`\n== [${i + 1}/${steps.length}] ${command}\n`);
    const t0 = performance.now();
    const r = await runVerb(step, io);
    const seconds = (performance.now() - t0) / 1000;
    summary.steps.push({ command, seconds });
    if (!r.ok) return err(new UpStepError(command, r.error));
    io.stderr.write(`== ${command}: ${seconds.toFixed(1)} s\n`);
    if (step.verb === 'build') summary.build = r.value as BuildSummary;
    if (step.verb === 'compose') summary.composes.push({ kind: step.argv[0] as 'wheelhouse' | 'image', name: step.argv[1]!, value: r.value });
  }
  summary.seconds = (performance.now() - started) / 1000;
  io.stdout.write(describe(summary, podmanPrefix(metadata, io)));
  return ok(summary);
};

/** What the steps would refuse later, refused now. */
function checkOptions(args: ParsedArgs, io: CliIO): Result<void, UsageError> {
  if (args.options['fix'] && args.options['no-fix']) return err(new UsageError('weld up: --fix and --no-fix exclude each other; pick one'));
  const jobs = jobsFromArgs(args, 'up');
  if (!jobs.ok) return jobs;
  const runner = runnerName(args, io.env);
  if (!RUNNER_NAMES.includes(runner)) {
    const guess = closest(runner, RUNNER_NAMES);
    return err(new UsageError(`weld up: unknown runner "${runner}"${guess ? `; did you mean "${guess}"?` : ''}`, `known runners: ${RUNNER_NAMES.join(', ')} (--runner or WELD_RUNNER)`));
  }
  return ok(undefined);
}

/** The job for this distro: its envs, then mirror, build and each compose, with the caller's options passed on. */
function plan(metadata: Metadata, options: Record<string, string | boolean | undefined>): Step[] {
  const pass = (...names: string[]) => names.flatMap((n) => (typeof options[n] === 'string' ? [`--${n}`, options[n] as string] : []));
  const meta = pass('metadata');
  const store = pass('store');
  const mayFix = options['no-fix'] !== true && (options['fix'] === true || process.getuid?.() === 0);
  const envs = new Set<string>();
  for (const p of metadata.packages.values()) envs.add(p.env);
  const composes = [...metadata.composes.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const c of composes) if (c.kind === 'image' && c.env) envs.add(c.env);
  const steps: Step[] = [{ verb: 'doctor', argv: [...(mayFix ? ['--fix'] : []), '--arch', metadata.distro.arch] }];
  for (const env of [...envs].sort()) {
    steps.push({ verb: 'env', argv: ['fetch', env, ...meta, ...store] });
    steps.push({ verb: 'env', argv: ['compose', env, ...meta, ...store] });
  }
  steps.push({ verb: 'mirror', argv: ['--all', ...meta, ...store, ...pass('mirrors')] });
  steps.push({ verb: 'build', argv: ['--all', ...meta, ...store, ...pass('mirrors', 'runner', 'jobs')] });
  for (const c of composes) steps.push({ verb: 'compose', argv: [c.kind, c.name, ...meta, ...store, ...pass('mirrors', 'runner')] });
  return steps;
}

async function runVerb(step: Step, io: CliIO): Promise<Result<unknown, WeldError>> {
  const entry = VERBS.find((v) => v.name === step.verb);
  if (!entry) throw new Error(`bug: weld up names the verb "${step.verb}", which does not exist`);
  const mod = await entry.load();
  const parsed = parseCommandArgs({ name: entry.name, summary: entry.summary, ...mod.spec }, step.argv);
  if (!parsed.ok) return parsed;
  return mod.run(parsed.value, io);
}

/** How to call podman by hand on this host: with weld's containers.conf when weld needs one. */
function podmanPrefix(metadata: Metadata, io: CliIO): string {
  const conf = path.join(metadata.root, '.weld', 'podman', 'containers.conf');
  return !io.env['CONTAINERS_CONF'] && existsSync(conf) ? `CONTAINERS_CONF=${conf} podman` : 'podman';
}

function describe(s: UpSummary, podman: string): string {
  const lines = [`\nweld up: done in ${s.seconds.toFixed(1)} s`];
  if (s.build) lines.push(`  packages: ${plural(s.build.built.length, 'package')} built, ${s.build.cached.length} reused from the store`);
  for (const c of s.composes) lines.push(...describeCompose(c, podman));
  return lines.join('\n') + '\n';
}

function describeCompose(c: UpSummary['composes'][number], podman: string): string[] {
  const v = (c.value ?? {}) as { dir?: string; file?: string; tag?: string };
  if (c.kind === 'wheelhouse' && v.dir) {
    return [`  wheelhouse ${c.name}: ${v.dir}`, `    pip install --index-url file://${v.dir}/simple <package>`, `    or serve it: weld serve --wheelhouse ${v.dir}`];
  }
  if (c.kind === 'image' && v.tag) {
    return [`  image ${c.name}: ${v.tag}${v.file ? ` (${v.file})` : ''}`, `    ${podman} run --arch s390x --rm -it ${v.tag}`];
  }
  return [`  ${c.kind} ${c.name}: composed`];
}
