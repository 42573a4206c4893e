import path from 'node:path';
import { UsageError, WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import { backendProblems, backendsFilePath, parseLabel, readBackendsFile, writeBackendsFile, type BackendConfig } from '../runner/backends/config.js';
import { explainSshFailure, identityFileProblem, sshPreflight } from '../podman/ssh.js';
import { closest } from '../util/suggest.js';
import type { ParsedArgs } from './args.js';
import type { VerbModule } from './commands.js';
import { json, table } from './format.js';
import type { CliIO } from './io.js';

const SUBVERBS = ['ls', 'add', 'rm', 'check'] as const;
type SubVerb = (typeof SUBVERBS)[number];

const ALLOWED: Record<SubVerb, string[]> = {
  ls: ['json'],
  add: ['url', 'arch', 'label', 'max-jobs', 'identity', 'replace'],
  rm: [],
  check: ['json'],
};

export const spec: VerbModule['spec'] = {
  description:
    'Build backends are podman engines reached through podman\'s remote API; with any configured,\n' +
    '`weld build` (and `weld server`) run podman builds on them instead of this host.\n' +
    'Sub-verbs:\n' +
    '  ls                         the configured backends\n' +
    '  add <name> --url URL --arch ARCH [--label k=v]… [--max-jobs N] [--identity KEY] [--replace]\n' +
    '                             add one (URL: unix:///path.sock, tcp://host:port, ssh://user@host/path.sock;\n' +
    '                             ssh: --identity is the private key, and the host must be in ~/.ssh/known_hosts)\n' +
    '  rm <name>                  remove one\n' +
    '  check [name]…              ask each engine (podman --url URL info): reachable, version, arch, native or emulated\n' +
    '\n' +
    'The file is --backends, else $WELD_BACKENDS, else $XDG_CONFIG_HOME/weld/backends.toml (~/.config/weld/backends.toml).',
  options: {
    backends: { type: 'string', value: '<file>', description: 'the backends file' },
    url: { type: 'string', value: '<url>', description: 'add: the engine, as podman --url takes it' },
    arch: { type: 'string', value: '<arch>', description: 'add: what it builds (Debian name: s390x, amd64, arm64, ppc64el)' },
    label: { type: 'string', multiple: true, value: '<key=value>', description: 'add: a label builds can select it by (repeatable)' },
    'max-jobs': { type: 'string', value: '<n>', description: 'add: builds it runs at once (default 1)' },
    identity: { type: 'string', value: '<file>', description: 'add, ssh:// only: the private key podman logs in with (no passphrase, mode 600)' },
    replace: { type: 'boolean', description: 'add: replace a backend of the same name' },
    json: { type: 'boolean', description: 'ls, check: print JSON' },
  },
  positionals: [
    { name: 'sub-verb', required: true },
    { name: 'name', variadic: true },
  ],
  examples: [
    'weld backends add z1 --url ssh://weld@z1.example.com/run/podman/podman.sock --arch s390x --label cpu=native --max-jobs 4 --identity ~/.ssh/weld_z1',
    'weld backends add qemu1 --url tcp://10.0.0.5:8888 --arch s390x --max-jobs 2',
    'weld backends ls',
    'weld backends check',
    'weld backends rm qemu1',
  ],
};

/** Some backends did not answer `weld backends check`. */
export class BackendsUnreachableError extends WeldError {
  readonly code = 'E_BACKENDS_UNREACHABLE';
  constructor(readonly names: string[]) {
    super(`${names.length === 1 ? 'backend' : 'backends'} ${names.join(', ')} did not answer`, 'check that the engine runs (`podman system service`), the URL, and for ssh the key (the identity, $CONTAINER_SSHKEY or ssh-agent) and the host\'s line in ~/.ssh/known_hosts');
  }
}

export const run: VerbModule['run'] = async (args, io) => {
  const [sub, ...names] = args.positionals;
  if (!(SUBVERBS as readonly string[]).includes(sub ?? '')) {
    const guess = closest(sub ?? '', SUBVERBS);
    return err(new UsageError(`weld backends: unknown sub-verb "${sub}"${guess ? `; did you mean "${guess}"?` : ''}`, `one of: ${SUBVERBS.join(', ')}`));
  }
  const verb = sub as SubVerb;
  const misplaced = Object.keys(spec.options).find((o) => o !== 'backends' && args.options[o] !== undefined && !ALLOWED[verb].includes(o));
  if (misplaced) return err(new UsageError(`weld backends ${verb}: --${misplaced} does not apply here`, `run 'weld backends --help' for which options go with which sub-verb`));
  const flag = args.options['backends'];
  const file = backendsFilePath({ env: io.env, cwd: io.cwd, ...(typeof flag === 'string' ? { flag } : {}) });
  const current = readBackendsFile(file);
  if (!current.ok) return current;
  if (verb === 'ls') return list({ io, args, backends: current.value, file });
  if (verb === 'check') return check({ io, args, backends: current.value, names });
  if (names.length !== 1) return err(new UsageError(`weld backends ${verb}: name one backend`, `usage: weld backends ${verb} <name>${verb === 'add' ? ' --url URL --arch ARCH' : ''}`));
  const name = names[0]!;
  if (verb === 'rm') {
    if (!current.value.some((b) => b.name === name)) {
      const guess = closest(name, current.value.map((b) => b.name));
      return err(new UsageError(`weld backends rm: no backend "${name}" in ${file}${guess ? `; did you mean "${guess}"?` : ''}`));
    }
    const written = writeBackendsFile({ file, backends: current.value.filter((b) => b.name !== name) });
    if (!written.ok) return written;
    io.stdout.write(`removed backend ${name} from ${file}\n`);
    return ok(undefined);
  }
  const added = backendFromArgs({ args, name, cwd: io.cwd });
  if (!added.ok) return added;
  const exists = current.value.some((b) => b.name === name);
  if (exists && args.options['replace'] !== true) return err(new UsageError(`weld backends add: ${file} already has a backend "${name}"`, 'pass --replace to replace it, or pick another name'));
  const next = exists ? current.value.map((b) => (b.name === name ? added.value : b)) : [...current.value, added.value];
  const written = writeBackendsFile({ file, backends: next });
  if (!written.ok) return written;
  io.stdout.write(`${exists ? 'replaced' : 'added'} backend ${name} (${added.value.url}, ${added.value.arch}, max ${added.value.maxJobs} at once) in ${file}\n`);
  return ok(undefined);
};

function backendFromArgs(o: { args: ParsedArgs; name: string; cwd: string }): Result<BackendConfig, UsageError> {
  const { args } = o;
  const url = args.options['url'];
  const arch = args.options['arch'];
  if (typeof url !== 'string' || typeof arch !== 'string') return err(new UsageError('weld backends add: --url and --arch are required', `e.g. weld backends add ${o.name} --url tcp://host:8888 --arch s390x`));
  const raw = args.options['label'];
  const labels: Record<string, string> = {};
  for (const l of Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : []) {
    const pair = parseLabel(l);
    if (!pair.ok) return err(new UsageError(`weld backends add: --label ${pair.error}`));
    labels[pair.value[0]] = pair.value[1];
  }
  const jobsArg = args.options['max-jobs'];
  const maxJobs = typeof jobsArg === 'string' ? (/^\d{1,4}$/.test(jobsArg) ? Number(jobsArg) : NaN) : 1;
  const idArg = args.options['identity'];
  // a relative path is taken from here: the file keeps an absolute one, whoever reads it later
  const identity = typeof idArg === 'string' ? path.resolve(o.cwd, idArg) : undefined;
  const problems = backendProblems({ name: o.name, url, arch, labels, maxJobs, ...(identity !== undefined ? { identity } : {}) });
  if (problems.length) return err(new UsageError(`weld backends add: ${problems.join('; ')}`));
  // the key as it is now (it is checked again at each use): a typo is said here, not at the first build
  const keyProblem = identity !== undefined ? identityFileProblem(identity) : undefined;
  if (keyProblem) return err(new UsageError(`weld backends add: ${keyProblem}`));
  return ok({ name: o.name, url, arch, labels, maxJobs, ...(identity !== undefined ? { identity } : {}) });
}

function list(o: { io: CliIO; args: ParsedArgs; backends: BackendConfig[]; file: string }): Result<void, WeldError> {
  if (o.args.options['json'] === true) {
    o.io.stdout.write(json({ file: o.file, backends: o.backends }));
    return ok(undefined);
  }
  if (!o.backends.length) {
    o.io.stdout.write(`no backends in ${o.file}: builds run on this host's podman\n`);
    return ok(undefined);
  }
  // the identity column only when some backend has one (most sites: none, or the agent's)
  const keys = o.backends.some((b) => b.identity !== undefined);
  const rows = o.backends.map((b) => [b.name, b.url, b.arch, String(b.maxJobs), Object.entries(b.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-', ...(keys ? [b.identity ?? '-'] : [])]);
  o.io.stdout.write(table([['NAME', 'URL', 'ARCH', 'MAX_JOBS', 'LABELS', ...(keys ? ['IDENTITY'] : [])], ...rows]));
  return ok(undefined);
}

interface CheckRow {
  name: string;
  url: string;
  ok: boolean;
  /** the engine's own arch, in Debian's naming */
  engineArch?: string;
  version?: string;
  /** native: the engine's arch is the backend's; emulated: it builds under qemu */
  mode?: 'native' | 'emulated';
  problem?: string;
  ms: number;
}

const OCI_TO_DEBIAN: Record<string, string> = { amd64: 'amd64', arm64: 'arm64', s390x: 's390x', ppc64le: 'ppc64el' };

async function check(o: { io: CliIO; args: ParsedArgs; backends: BackendConfig[]; names: string[] }): Promise<Result<void, WeldError>> {
  const unknown = o.names.filter((n) => !o.backends.some((b) => b.name === n));
  if (unknown.length) return err(new UsageError(`weld backends check: no backend ${unknown.map((n) => `"${n}"`).join(', ')}`, `configured: ${o.backends.map((b) => b.name).join(', ') || 'none'}`));
  const chosen = o.names.length ? o.backends.filter((b) => o.names.includes(b.name)) : o.backends;
  const { Podman } = await import('../podman/podman.js');
  const rows = await Promise.all(
    chosen.map(async (b): Promise<CheckRow> => {
      const t0 = performance.now();
      const id = b.identity !== undefined ? { identity: b.identity } : {};
      const podman = Podman.remote({ url: b.url, arch: b.arch, env: o.io.env, ...id });
      if (!podman.ok) return { name: b.name, url: b.url, ok: false, problem: podman.error.message, ms: 0 };
      const ready = sshPreflight({ url: b.url, env: o.io.env, ...id });
      if (!ready.ok) return { name: b.name, url: b.url, ok: false, problem: `${ready.error.message}${ready.error.hint ? `; ${ready.error.hint}` : ''}`, ms: Math.round(performance.now() - t0) };
      const r = await podman.value.exec({ args: ['info', '--format', '{{.Host.Arch}} {{.Version.Version}}'], timeoutMs: 20_000 });
      const ms = Math.round(performance.now() - t0);
      if (r.code !== 0) {
        const said = r.stderr.trim().split('\n').slice(-2).join(' / ') || `podman exited ${r.code}`;
        const why = explainSshFailure({ url: b.url, env: o.io.env, output: r.stderr, ...id });
        return { name: b.name, url: b.url, ok: false, problem: why ? `${why} (podman: ${said})` : said, ms };
      }
      const [arch = '', version = ''] = r.stdout.trim().split(/\s+/);
      const engineArch = OCI_TO_DEBIAN[arch] ?? arch;
      return { name: b.name, url: b.url, ok: true, engineArch, version, mode: engineArch === b.arch ? 'native' : 'emulated', ms };
    }),
  );
  if (o.args.options['json'] === true) o.io.stdout.write(json({ backends: rows }));
  else if (!rows.length) o.io.stdout.write('no backends configured: builds run on this host\'s podman\n');
  else
    o.io.stdout.write(
      table([
        ['NAME', 'STATE', 'PODMAN', 'ENGINE', 'BUILDS', 'MS'],
        ...rows.map((r) => {
          const b = chosen.find((c) => c.name === r.name)!;
          return [r.name, r.ok ? 'ok' : `down: ${r.problem}`, r.version ?? '-', r.engineArch ?? '-', r.ok ? `${b.arch} (${r.mode === 'native' ? 'native' : 'under qemu'})` : b.arch, String(r.ms)];
        }),
      ]),
    );
  const down = rows.filter((r) => !r.ok).map((r) => r.name);
  return down.length ? err(new BackendsUnreachableError(down)) : ok(undefined);
}
