import path from 'node:path';
import { UsageError, type WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import type { ServiceConfig } from '../service/config.js';
import type { ParsedArgs } from './args.js';
import { runnerName } from './build-args.js';
import type { VerbModule } from './commands.js';
import type { CliIO } from './io.js';
import { REMOTE_OPTIONS } from './store-args.js';
import type { EnvEvent } from '../envs/events.js';
import { weldVersion } from './version.js';

// `weld server`: the build service in the foreground (systemd-ready: JSON log lines on
// stderr, SIGTERM drains), and `weld server token add|ls|revoke`.

export const spec: VerbModule['spec'] = {
  description:
    'Runs the build service: jobs over a REST API (/api/v1), live logs (SSE), /events, /metrics,\n' +
    'and the wheelhouses its jobs compose under /wheelhouses/<job>/<compose>/simple/ for pip.\n' +
    'A job names a metadata git repository and a ref; the server fetches it into its own cache,\n' +
    'mirrors and builds through the same build session as `weld build`, into its store.\n' +
    'Runs in the foreground with JSON log lines on stderr; SIGTERM takes no new jobs, lets running\n' +
    'builds finish for --drain-timeout seconds, then stops them (they resume at the next start).\n' +
    '(`weld serve` is different: a static, read-only server of one wheelhouse directory.)\n' +
    '\n' +
    'Tokens: weld server token add NAME --role submit|admin   (prints the secret once)\n' +
    '        weld server token ls | weld server token revoke NAME',
  options: {
    listen: { type: 'string', value: '<host:port>', description: 'where to listen (default 127.0.0.1:8080; beyond loopback only with tokens)' },
    state: { type: 'string', value: '<dir>', description: 'the job store, tokens, cache repositories and composes (default: $WELD_STATE or ./.weld/server)' },
    config: { type: 'string', value: '<file>', description: 'the server config file (TOML; see the README)' },
    store: { type: 'string', value: '<dir>', description: 'the content store builds go into (default: $WELD_STORE or <state>/store)' },
    mirrors: { type: 'string', value: '<dir>', description: 'where mirrors live (default: $WELD_MIRRORS or <state>/mirrors)' },
    runner: { type: 'string', value: '<name>', description: 'where recipes run: podman or local (default $WELD_RUNNER or podman)' },
    backends: { type: 'string', value: '<file>', description: 'the build backends file (default: config backends, $WELD_BACKENDS, $XDG_CONFIG_HOME/weld/backends.toml); /api/v1/backends changes it' },
    'tls-cert': { type: 'string', value: '<file>', description: 'serve HTTPS with this certificate (PEM), with --tls-key' },
    'tls-key': { type: 'string', value: '<file>', description: 'the private key of --tls-cert (PEM)' },
    ...REMOTE_OPTIONS,
    'drain-timeout': { type: 'string', value: '<s>', description: 'seconds SIGTERM lets running builds finish (default 600)' },
    role: { type: 'string', value: '<role>', description: 'token add: submit (submit, cancel own jobs) or admin (cancel any job)' },
    json: { type: 'boolean', description: 'token verbs: print JSON' },
  },
  positionals: [{ name: 'token-verb', variadic: true }],
  examples: ['weld server --listen 127.0.0.1:8080 --runner podman', 'weld server token add ci --role submit', 'weld server token ls', 'weld server --config /etc/weld/server.toml'],
};

export const run: VerbModule['run'] = async (args, io) => {
  const [first, verb, name, ...rest] = args.positionals;
  const config = await configFrom(args, io);
  if (!config.ok) return config;
  const stateDir = path.resolve(io.cwd, stringOpt(args, 'state') ?? config.value.state ?? io.env['WELD_STATE'] ?? '.weld/server');
  if (first === 'token') return tokenVerb({ verb, name, rest, args, io, stateDir });
  if (first !== undefined) return err(new UsageError(`weld server: unexpected argument "${first}"`, 'usage: weld server [options] | weld server token add|ls|revoke'));
  return serve({ args, io, config: config.value, stateDir });
};

function stringOpt(args: ParsedArgs, name: string): string | undefined {
  const v = args.options[name];
  return typeof v === 'string' ? v : undefined;
}

async function configFrom(args: ParsedArgs, io: CliIO): Promise<Result<ServiceConfig, WeldError>> {
  const file = stringOpt(args, 'config');
  if (file === undefined) return ok({});
  const { readServiceConfig } = await import('../service/config.js');
  return readServiceConfig(path.resolve(io.cwd, file));
}

async function serve(o: { args: ParsedArgs; io: CliIO; config: ServiceConfig; stateDir: string }): Promise<Result<void, WeldError>> {
  const { args, io } = o;
  const { parseListen } = await import('../service/config.js');
  const listen = parseListen(stringOpt(args, 'listen') ?? o.config.listen ?? '127.0.0.1:8080');
  if (!listen.ok) return err(new UsageError(listen.error.message));
  const drainArg = stringOpt(args, 'drain-timeout');
  const drainS = drainArg === undefined ? (o.config.drainTimeoutS ?? 600) : Number(drainArg);
  if (!Number.isInteger(drainS) || drainS < 0) return err(new UsageError(`weld server: --drain-timeout must be a whole number of seconds, not "${drainArg}"`));
  const tls = stringOpt(args, 'tls-verify');
  if (tls !== undefined && tls !== 'true' && tls !== 'false') return err(new UsageError(`--tls-verify takes true or false, not ${JSON.stringify(tls)}`, 'write --tls-verify=false for a registry on plain HTTP'));
  const storeRemote = stringOpt(args, 'store-remote');
  const signingKey = stringOpt(args, 'signing-key');
  const remoteFlags: Partial<ServiceConfig> = { ...(storeRemote ? { storeRemote } : {}), ...(tls ? { tlsVerify: tls === 'true' } : {}), ...(signingKey ? { signingKey: path.resolve(io.cwd, signingKey) } : {}) };
  const cert = stringOpt(args, 'tls-cert');
  const key = stringOpt(args, 'tls-key');
  if ((cert === undefined) !== (key === undefined)) return err(new UsageError('weld server: --tls-cert and --tls-key go together'));
  const { checkRunnerName } = await import('../runner/select.js');
  const runner = checkRunnerName(stringOpt(args, 'runner') ?? o.config.runner ?? runnerName(args, io.env));
  if (!runner.ok) return runner;
  const log = (fields: Record<string, unknown>) => io.stderr.write(JSON.stringify({ time: new Date().toISOString(), ...fields }) + '\n');
  // One pool for every job, so load and health are counted across jobs; empty means this host's podman.
  const { backendsFilePath, readBackendsFile } = await import('../runner/backends/config.js');
  const backendsFlag = stringOpt(args, 'backends') ?? o.config.backends;
  const backendsFile = backendsFilePath({ env: io.env, cwd: io.cwd, ...(backendsFlag ? { flag: backendsFlag } : {}) });
  const configured = readBackendsFile(backendsFile);
  if (!configured.ok) return configured;
  const { BackendPool } = await import('../runner/backends/pool.js');
  const pool = new BackendPool({ backends: configured.value });
  const { startService } = await import('../service/server.js');
  const started = await startService({
    stateDir: o.stateDir,
    storePath: path.resolve(io.cwd, stringOpt(args, 'store') ?? o.config.store ?? io.env['WELD_STORE'] ?? path.join(o.stateDir, 'store')),
    mirrorsDir: path.resolve(io.cwd, stringOpt(args, 'mirrors') ?? o.config.mirrors ?? io.env['WELD_MIRRORS'] ?? path.join(o.stateDir, 'mirrors')),
    runnerName: runner.value,
    makeRunner: async ({ metadata, store, env, registry }) => {
      const { selectRunner } = await import('../runner/select.js');
      // a job's env image taken from the store remote: said on the server's stderr (its problems go to the job's log as warnings)
      const onEnvEvent = (e: EnvEvent) => {
        if (e.type === 'substituted') io.stderr.write(`weld server: env ${e.subject.name}: image ${e.data.manifest} substituted from ${e.data.remote} (signed by ${e.data.keyId})\n`);
      };
      return selectRunner({ name: runner.value, context: { metadata, store, env, pool, ...(registry ? { registry, onEnvEvent } : {}) } });
    },
    backends: { pool, file: backendsFile },
    host: listen.value.host,
    port: listen.value.port,
    cwd: io.cwd,
    env: io.env,
    config: { ...o.config, ...remoteFlags, ...(cert && key ? { tlsCert: path.resolve(io.cwd, cert), tlsKey: path.resolve(io.cwd, key) } : {}) },
    weldVersion: weldVersion(),
    log,
  });
  if (!started.ok) return started;
  const s = started.value;
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (sig: NodeJS.Signals) => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      resolve(sig);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log({ msg: 'draining', signal, timeoutS: drainS, running: s.jobs.runningCount });
  await s.drain(drainS * 1000);
  await s.close();
  log({ msg: 'stopped' });
  return ok(undefined);
}

async function tokenVerb(o: { verb: string | undefined; name: string | undefined; rest: string[]; args: ParsedArgs; io: CliIO; stateDir: string }): Promise<Result<void, WeldError>> {
  const { addToken, readTokens, revokeToken } = await import('../service/tokens.js');
  const { io } = o;
  const json = o.args.options['json'] === true;
  if (o.rest.length) return err(new UsageError(`weld server token: unexpected argument "${o.rest[0]}"`));
  switch (o.verb) {
    case 'add': {
      if (!o.name) return err(new UsageError('weld server token add: name the token', 'usage: weld server token add NAME --role submit|admin'));
      const role = stringOpt(o.args, 'role');
      if (!role) return err(new UsageError('weld server token add: --role submit|admin is needed'));
      const r = addToken({ stateDir: o.stateDir, name: o.name, role });
      if (!r.ok) return err(new UsageError(`weld server token add: ${r.error.message}`, r.error.hint));
      if (json) io.stdout.write(JSON.stringify({ name: r.value.entry.name, role: r.value.entry.role, token: r.value.secret }) + '\n');
      else io.stdout.write(`${r.value.secret}\n`);
      io.stderr.write(`token "${o.name}" (${role}) added to ${o.stateDir}; the secret above is shown once: keep it (weld remote reads WELD_TOKEN)\n`);
      return ok(undefined);
    }
    case 'ls': {
      const r = readTokens(o.stateDir);
      if (!r.ok) return r;
      if (json) {
        io.stdout.write(JSON.stringify(r.value.map(({ hash: _h, ...t }) => t)) + '\n');
        return ok(undefined);
      }
      if (!r.value.length) io.stdout.write(`no tokens in ${o.stateDir} (the server takes calls on loopback only, unauthenticated)\n`);
      for (const t of r.value) io.stdout.write(`${t.name.padEnd(20)} ${t.role.padEnd(7)} created ${new Date(t.createdAt).toISOString()}${t.revokedAt ? `  REVOKED ${new Date(t.revokedAt).toISOString()}` : ''}\n`);
      return ok(undefined);
    }
    case 'revoke': {
      if (!o.name) return err(new UsageError('weld server token revoke: name the token'));
      const r = revokeToken({ stateDir: o.stateDir, name: o.name });
      if (!r.ok) return err(new UsageError(`weld server token revoke: ${r.error.message}`, r.error.hint));
      io.stdout.write(`token "${o.name}" revoked\n`);
      return ok(undefined);
    }
    default:
      return err(new UsageError(`weld server token: ${o.verb === undefined ? 'say add, ls or revoke' : `unknown verb "${o.verb}" (add, ls, revoke)`}`));
  }
}
