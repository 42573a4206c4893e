import { err, ok } from '../core/result.js';
import { UsageError } from '../core/errors.js';
import { ARCHES } from '../metadata/names.js';
import { HostNotReadyError } from '../podman/errors.js';
import { doctor } from '../podman/doctor.js';
import type { VerbModule } from './commands.js';
import { json } from './format.js';

export const spec: VerbModule['spec'] = {
  description:
    'Checks what foreign-arch (s390x) builds need: podman, an OCI runtime that works on this host,\n' +
    'qemu-user-static and its binfmt_misc registration, root or rootless, free disk. Each missing\n' +
    'piece comes with the command that fixes it; --fix runs those commands (needs root and apt).\n' +
    'It also says whether weld will run podman with its own containers.conf, and why.',
  options: {
    fix: { type: 'boolean', description: 'apply the fixes (apt-get install, mount binfmt_misc, update-binfmts)' },
    arch: { type: 'string', value: '<arch>', description: `the target arch (default s390x; one of ${ARCHES.join(', ')})` },
    json: { type: 'boolean', description: 'print the checks as JSON' },
  },
  positionals: [],
  examples: ['weld doctor', 'sudo weld doctor --fix'],
};

export const run: VerbModule['run'] = async (args, io) => {
  const arch = typeof args.options['arch'] === 'string' ? args.options['arch'] : 's390x';
  if (!(ARCHES as readonly string[]).includes(arch)) return err(new UsageError(`weld doctor: unknown arch "${arch}"`, `one of: ${ARCHES.join(', ')}`));
  const asJson = args.options['json'] === true;
  const fix = args.options['fix'] === true;
  const report = await doctor({
    target: arch,
    dir: io.cwd,
    fix,
    env: io.env,
    onEvent: (e) => {
      if (asJson) return;
      if (e.type === 'fix-start') io.stderr.write(`weld doctor: fixing ${e.check}: ${e.command}\n`);
      else if (e.type === 'fix-output') io.stderr.write(`  | ${e.line}\n`);
      else if (!e.ok) io.stderr.write(`weld doctor: ${e.command} failed\n`);
    },
  });
  const failing = report.checks.filter((c) => !c.ok && !c.info);
  if (asJson) {
    io.stdout.write(json({ ok: failing.length === 0, checks: report.checks, applied: report.applied }));
  } else {
    const width = Math.max(...report.checks.map((c) => c.id.length));
    for (const c of report.checks) {
      io.stdout.write(`${(c.info ? 'info' : c.ok ? 'ok' : 'FAIL').padEnd(5)} ${c.id.padEnd(width)}  ${c.detail}\n`);
      if (!c.ok) for (const cmd of c.fix ?? []) io.stdout.write(`${''.padEnd(width + 7)}fix: ${cmd.join(' ')}\n`);
    }
    if (fix && !report.host.root && failing.some((c) => c.fix)) io.stdout.write('not root: --fix applied nothing; run it as root (sudo)\n');
  }
  if (!failing.length) return ok(undefined);
  return err(new HostNotReadyError(failing.map((c) => c.id), failing.some((c) => c.fix)));
};
