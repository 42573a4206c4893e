import { err, ok, type Result } from '../core/result.js';
import type { CliIO } from './io.js';
import { UsageError } from '../core/errors.js';
import { ARCHES } from '../metadata/names.js';
import { HostNotReadyError } from '../podman/errors.js';
import type { DoctorEvent, DoctorReport } from '../podman/doctor.js';
import type { VerbModule } from './commands.js';
import { closest } from '../util/suggest.js';
import { hostname } from 'node:os';
import { eventLines } from './event-lines.js';

// Profiles are sets of checks for one purpose; each loads only its own probes.
const PROFILES = {
  build: { purpose: 'builds', load: async () => (await import('../podman/doctor.js')).doctor },
  test: { purpose: 'the tests', load: async () => (await import('../podman/test-tools.js')).doctorTests },
  local: { purpose: 'local-runner builds and tests', load: async () => (await import('../runner/local-doctor.js')).doctorLocalRunner },
} as const;
export type Profile = keyof typeof PROFILES;
const NAMES = Object.keys(PROFILES) as Profile[];

export const spec: VerbModule['spec'] = {
  description:
    'Checks what foreign-arch (s390x) builds need: podman, an OCI runtime that works on this host,\n' +
    'qemu-user-static and its binfmt_misc registration, root or rootless, free disk. Each missing\n' +
    'piece comes with the command that fixes it; --fix runs those commands (needs root and apt).\n' +
    'It also says whether weld will run podman with its own containers.conf, and why.\n' +
    '--profile test checks instead the host tools the unit tests run (python3 with pyelftools,\n' +
    'pip and Python.h, patchelf, gcc, git); `npm test` runs it with --fix first.\n' +
    '--runner local (or --profile local) checks what `--runner local` builds and tests need of\n' +
    'the python3 on PATH: pip, setuptools and wheel (builds run without isolation), and the\n' +
    "repair step's patchelf and pyelftools.",
  options: {
    fix: { type: 'boolean', description: 'apply the fixes (apt-get install, mount binfmt_misc, update-binfmts)' },
    arch: { type: 'string', value: '<arch>', description: `build profile: the target arch (default s390x; one of ${ARCHES.join(', ')})` },
    profile: { type: 'string', value: '<name>', description: `what to check the host for: build (default: s390x builds in podman), test (the unit tests' host tools) or local (the local runner)` },
    runner: { type: 'string', value: '<runner>', description: 'podman (the build profile) or local (the local profile)' },
    json: { type: 'boolean', description: 'print the checks as JSON' },
  },
  positionals: [],
  examples: ['weld doctor', 'sudo weld doctor --fix', 'weld doctor --profile test --fix', 'weld doctor --runner local'],
};

export const run: VerbModule['run'] = async (args, io) => {
  const runnerArg = args.options['runner'];
  if (runnerArg !== undefined && runnerArg !== 'local' && runnerArg !== 'podman') return err(new UsageError(`weld doctor: unknown runner "${String(runnerArg)}"`, 'one of: podman, local'));
  if (runnerArg !== undefined && args.options['profile'] !== undefined) return err(new UsageError('weld doctor: pass --runner or --profile, not both', '--runner local is --profile local; --runner podman is the build profile'));
  const profileArg = runnerArg === 'local' ? 'local' : runnerArg === 'podman' ? 'build' : args.options['profile'];
  const profile = typeof profileArg === 'string' ? profileArg : 'build';
  if (!(NAMES as string[]).includes(profile)) {
    const guess = closest(profile, NAMES);
    return err(new UsageError(`weld doctor: unknown profile "${profile}"${guess ? `; did you mean "${guess}"?` : ''}`, `one of: ${NAMES.join(', ')}`));
  }
  const arch = typeof args.options['arch'] === 'string' ? args.options['arch'] : 's390x';
  if (profile !== 'build' && args.options['arch'] !== undefined) return err(new UsageError(`weld doctor: --arch goes with the build profile, not --profile ${profile}`, 'the tests and the local runner run on the host arch'));
  if (!(ARCHES as readonly string[]).includes(arch)) return err(new UsageError(`weld doctor: unknown arch "${arch}"`, `one of: ${ARCHES.join(', ')}`));
  return checkHost({ profile: profile as Profile, arch, fix: args.options['fix'] === true, json: args.options['json'] === true, io });
};

/** The doctor's checks, printed as `weld doctor` prints them: what `weld up` runs first. */
export async function checkHost(o: { profile: Profile; arch: string; fix: boolean; json: boolean; io: CliIO }): Promise<Result<DoctorReport, HostNotReadyError>> {
  const { profile, arch, fix, io } = o;
  const lines = o.json ? eventLines(io) : undefined;
  const plain = (e: DoctorEvent) => {
    if (e.type === 'fix-start') io.stderr.write(`weld doctor: fixing ${e.data.check}: ${e.data.command}\n`);
    else if (e.type === 'fix-output') io.stderr.write(`  | ${e.data.line}\n`);
    else if (!e.data.ok) io.stderr.write(`weld doctor: ${e.data.command} failed\n`);
  };
  const { purpose, load } = PROFILES[profile];
  const report: DoctorReport = await (await load())({ target: arch, dir: io.cwd, fix, env: io.env, onEvent: lines ? lines.write : plain });
  const failing = report.checks.filter((c) => !c.ok && !c.info);
  if (lines) {
    // one last line: the summary, or (not ready) the error line, which carries the checks
    if (failing.length === 0) lines.summary({ subject: { kind: 'host', name: hostname() }, data: { ok: true, profile, checks: report.checks, applied: report.applied } });
    else lines.end();
  } else {
    const width = Math.max(...report.checks.map((c) => c.id.length));
    for (const c of report.checks) {
      io.stdout.write(`${(c.info ? 'info' : c.ok ? 'ok' : 'FAIL').padEnd(5)} ${c.id.padEnd(width)}  ${c.detail}\n`);
      if (!c.ok) for (const cmd of c.fix ?? []) io.stdout.write(`${''.padEnd(width + 7)}fix: ${cmd.join(' ')}\n`);
    }
    if (fix && !report.root && failing.some((c) => c.fix)) io.stdout.write('not root: --fix applied nothing; run it as root (sudo)\n');
  }
  if (!failing.length) return ok(report);
  const fixCommand = ['weld doctor', ...(profile === 'build' ? [] : [`--profile ${profile}`]), '--fix'].join(' ');
  return err(new HostNotReadyError({ failing: failing.map((c) => c.id), fixable: failing.some((c) => c.fix), purpose, fixCommand, checks: report.checks }));
}
