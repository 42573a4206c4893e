import { selectorFromArgs } from './build-args.js';
import { execFileSync } from 'node:child_process';
import { UsageError, WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import type { WeldClient } from '../service/client.js';
import type { ParsedArgs } from './args.js';
import type { VerbModule } from './commands.js';
import type { CliIO } from './io.js';

// `weld remote`: the build service's client. submit, status, wait, cancel, logs, list.

export const spec: VerbModule['spec'] = {
  description:
    'Talks to a `weld server`: the server from --server or WELD_SERVER, the token from WELD_TOKEN\n' +
    'or the credentials file ($WELD_CREDENTIALS, else ~/.config/weld/credentials.json, mode 0600:\n' +
    '{"servers": {"<url>": {"token": "weld_…"}}}).\n' +
    '\n' +
    '  submit [pkg…|--all] [--repo URL] [--ref R] [--compose NAME[,NAME]] [--backend-selector k=v]… [--wait] [--follow]\n' +
    '  status <job>            the job, its transitions and package states\n' +
    '  wait <job> [--follow]   until it is ready or failed (exit status 1 when failed)\n' +
    '  cancel <job>            stop its builds; nothing is recorded for them\n' +
    '  logs <job> [--package P] [-f]\n' +
    '  list [--state S[,S…]] [--package P] [--submitter NAME]',
  options: {
    server: { type: 'string', value: '<url>', description: 'the server (default $WELD_SERVER)' },
    all: { type: 'boolean', description: 'submit: build every package' },
    repo: { type: 'string', value: '<url|path>', description: "submit: the metadata repository (default: this project's git repository)" },
    ref: { type: 'string', value: '<ref>', description: 'submit: the branch, tag or commit (default: the current branch)' },
    compose: { type: 'string', value: '<names>', description: 'submit: wheelhouse composes to write after the build (comma-separated)' },
    jobs: { type: 'string', short: 'j', value: '<n>', description: 'submit: builds at once inside the job' },
    'backend-selector': { type: 'string', multiple: true, value: '<key=value>', description: "submit: build only on the server's backends with this label (repeatable)" },
    wait: { type: 'boolean', description: 'submit: wait until the job is ready or failed' },
    follow: { type: 'boolean', short: 'f', description: 'submit, wait, logs: show the build live' },
    package: { type: 'string', value: '<name>', description: 'logs: one package; list: jobs that build it' },
    state: { type: 'string', value: '<states>', description: 'list: only jobs in these states (comma-separated)' },
    submitter: { type: 'string', value: '<name>', description: 'list: only jobs this token submitted' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  positionals: [{ name: 'verb', required: true }, { name: 'arg', variadic: true }],
  examples: ['weld remote submit --all --ref respin-2 --compose default --follow', 'weld remote wait 01J…', 'weld remote logs 01J… --package pyyaml -f', 'weld remote list --state build,wait'],
};

export class RemoteJobFailedError extends WeldError {
  readonly code = 'E_JOB_FAILED';
  constructor(
    readonly job: Record<string, unknown>,
    reason: string,
  ) {
    super(`job ${String(job['id'])} failed: ${reason}`, `see its log: weld remote logs ${String(job['id'])}`);
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), job: this.job['id'] };
  }
}

const str = (args: ParsedArgs, k: string) => (typeof args.options[k] === 'string' ? (args.options[k] as string) : undefined);

export const run: VerbModule['run'] = async (args, io) => {
  const [verb, ...rest] = args.positionals;
  const server = str(args, 'server') ?? io.env['WELD_SERVER'];
  if (!server) return err(new UsageError('weld remote: which server? pass --server <url> or set WELD_SERVER', 'e.g. --server http://127.0.0.1:8080'));
  if (!/^https?:\/\/[^\s]+$/i.test(server)) return err(new UsageError(`weld remote: --server ${server} is not an http(s):// URL`));
  const { tokenFor, WeldClient } = await import('../service/client.js');
  const token = tokenFor({ server, env: io.env });
  if (!token.ok) return token;
  const client = new WeldClient({ server, ...(token.value ? { token: token.value } : {}) });
  const json = args.options['json'] === true;
  const one = (what: string): Result<string, UsageError> => {
    if (rest.length !== 1) return err(new UsageError(`weld remote ${what}: name one job id`, `usage: weld remote ${what} <job>`));
    return ok(rest[0]!);
  };
  switch (verb) {
    case 'submit':
      return submit({ args, io, client, json, packages: rest });
    case 'status': {
      const id = one('status');
      if (!id.ok) return id;
      const r = await client.call({ method: 'GET', path: `/api/v1/jobs/${encodeURIComponent(id.value)}` });
      if (!r.ok) return r;
      io.stdout.write(json ? JSON.stringify(r.value) + '\n' : describeJob(r.value));
      return ok(r.value);
    }
    case 'wait': {
      const id = one('wait');
      if (!id.ok) return id;
      return waitFor({ io, client, id: id.value, follow: args.options['follow'] === true, json });
    }
    case 'cancel': {
      const id = one('cancel');
      if (!id.ok) return id;
      const r = await client.call({ method: 'POST', path: `/api/v1/jobs/${encodeURIComponent(id.value)}/cancel` });
      if (!r.ok) return r;
      io.stdout.write(json ? JSON.stringify(r.value) + '\n' : `job ${id.value}: cancel asked (${String(r.value['state'])})\n`);
      return ok(r.value);
    }
    case 'logs': {
      const id = one('logs');
      if (!id.ok) return id;
      const pkg = str(args, 'package');
      const p = `/api/v1/jobs/${encodeURIComponent(id.value)}${pkg ? `/packages/${encodeURIComponent(pkg)}` : ''}/log`;
      if (args.options['follow'] !== true) {
        const r = await client.text(p);
        if (!r.ok) return r;
        io.stdout.write(r.value);
        return ok(undefined);
      }
      const r = await client.stream({
        path: p,
        onEvent: (m) => {
          if (m.event === 'log') {
            const l = JSON.parse(m.data) as { package?: string; text: string };
            io.stdout.write(json ? m.data + '\n' : `${!pkg && l.package ? `${l.package} | ` : ''}${l.text}\n`);
          } else if (m.event === 'end') io.stderr.write(`job ${id.value}: ${(JSON.parse(m.data) as { state: string }).state}\n`);
        },
      });
      return r;
    }
    case 'list': {
      const q = new URLSearchParams();
      for (const s of (str(args, 'state') ?? '').split(',').filter(Boolean)) q.append('state', s);
      for (const k of ['package', 'submitter']) if (str(args, k)) q.set(k, str(args, k)!);
      const r = await client.call<{ jobs: Array<Record<string, unknown>>; total: number }>({ method: 'GET', path: `/api/v1/jobs?${q.toString()}` });
      if (!r.ok) return r;
      if (json) io.stdout.write(JSON.stringify(r.value) + '\n');
      else {
        for (const j of r.value.jobs) io.stdout.write(`${String(j['id'])}  ${String(j['state']).padEnd(6)}  ${String(j['ref'])}@${String(j['commit']).slice(0, 12)}  ${String(j['submitter'])}  ${String(j['reason'] ?? '')}\n`);
        io.stdout.write(`${r.value.jobs.length} of ${r.value.total} jobs\n`);
      }
      return ok(r.value);
    }
    default:
      return err(new UsageError(`weld remote: unknown verb "${verb}"`, 'verbs: submit, status, wait, cancel, logs, list'));
  }
};

async function submit(o: { args: ParsedArgs; io: CliIO; client: WeldClient; json: boolean; packages: string[] }): Promise<Result<unknown, WeldError>> {
  const { args, io } = o;
  const all = args.options['all'] === true;
  if (all === o.packages.length > 0) return err(new UsageError(all ? 'weld remote submit: name packages or pass --all, not both' : 'weld remote submit: name the packages to build, or pass --all'));
  const repository = str(args, 'repo') ?? gitOut(io.cwd, ['rev-parse', '--show-toplevel']);
  if (!repository) return err(new UsageError('weld remote submit: not inside a git repository; pass --repo <url|path>'));
  let ref = str(args, 'ref') ?? gitOut(io.cwd, ['symbolic-ref', '-q', '--short', 'HEAD']) ?? gitOut(io.cwd, ['rev-parse', 'HEAD']);
  if (!ref) return err(new UsageError('weld remote submit: which ref? pass --ref <branch|tag|commit>'));
  ref = ref.trim();
  const jobsArg = str(args, 'jobs');
  const jobs = jobsArg === undefined ? undefined : Number(jobsArg);
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1)) return err(new UsageError(`weld remote submit: --jobs must be a whole number of at least 1, not "${jobsArg}"`));
  const composes = (str(args, 'compose') ?? '').split(',').filter(Boolean);
  const selector = selectorFromArgs(args);
  if (!selector.ok) return selector;
  const hasSelector = Object.keys(selector.value).length > 0;
  const r = await o.client.call({
    method: 'POST',
    path: '/api/v1/jobs',
    body: { repository, ref, ...(all ? { all: true } : { packages: o.packages }), ...(composes.length ? { composes } : {}), ...(jobs !== undefined ? { jobs } : {}), ...(hasSelector ? { selector: selector.value } : {}) },
  });
  if (!r.ok) return r;
  const id = String(r.value['id']);
  if (!(args.options['wait'] === true || args.options['follow'] === true)) {
    io.stdout.write(o.json ? JSON.stringify(r.value) + '\n' : `${id}\n`);
    return ok(r.value);
  }
  if (!o.json) io.stderr.write(`job ${id} submitted: ${ref} is ${String(r.value['commit'])}\n`);
  return waitFor({ io, client: o.client, id, follow: args.options['follow'] === true, json: o.json, packages: Object.keys((r.value['packageStates'] as object) ?? {}) });
}

async function waitFor(o: { io: CliIO; client: WeldClient; id: string; follow: boolean; json: boolean; packages?: string[] }): Promise<Result<unknown, WeldError>> {
  const path = `/api/v1/jobs/${encodeURIComponent(o.id)}`;
  if (o.follow) {
    let packages = o.packages;
    if (!packages) {
      const first = await o.client.call({ method: 'GET', path });
      if (!first.ok) return first;
      packages = Object.keys((first.value['packageStates'] as object) ?? {});
    }
    const { followJob } = await import('./remote-follow.js');
    const f = await followJob({ io: o.io, client: o.client, id: o.id, packages, json: o.json });
    if (!f.ok) return f;
  }
  for (;;) {
    const r = await o.client.call({ method: 'GET', path });
    if (!r.ok) return r;
    const state = String(r.value['state']);
    if (state === 'ready' || state === 'failed') {
      if (o.json) o.io.stdout.write(JSON.stringify({ type: 'summary', data: r.value }) + '\n');
      else if (!o.follow) o.io.stdout.write(describeJob(r.value));
      const reason = (r.value['transitions'] as Array<{ reason: string }>).at(-1)?.reason ?? '';
      return state === 'failed' ? err(new RemoteJobFailedError(r.value, reason)) : ok(r.value);
    }
    await new Promise((res) => setTimeout(res, 500));
  }
}

function describeJob(j: Record<string, unknown>): string {
  const lines = [`job ${String(j['id'])}: ${String(j['state'])}`, `  ${String(j['repository'])} ${String(j['ref'])} @ ${String(j['commit'])}, submitted by ${String(j['submitter'])}`];
  for (const t of (j['transitions'] as Array<{ state: string; at: number; reason: string }>) ?? []) lines.push(`  ${new Date(t.at).toISOString()}  ${t.state.padEnd(6)}  ${t.reason}`);
  for (const [p, s] of Object.entries((j['packageStates'] as Record<string, { state: string; error?: { message: string } }>) ?? {})) lines.push(`  ${p.padEnd(24)} ${s.state}${s.error ? `: ${s.error.message}` : ''}`);
  return lines.join('\n') + '\n';
}

function gitOut(cwd: string, argv: string[]): string | undefined {
  try {
    return execFileSync('git', argv, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}
