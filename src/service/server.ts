import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { WeldError } from '../core/errors.js';
import type { Metadata } from '../metadata/model.js';
import type { Runner } from '../runner/runner.js';
import type { Store } from '../store/store.js';
import { err, ok, type Result } from '../core/result.js';
import { openStore } from '../store/store.js';
import { buildApi } from './api.js';
import { shownRemote } from './api-store.js';
import { resolveRemote, type RemoteSettings } from '../store/remote/config.js';
import type { BackendsApi } from './api-backends.js';
import { isLoopback, type ServiceConfig } from './config.js';
import { ServiceConfigError } from './errors.js';
import { JobStore } from './job-store.js';
import { JobService } from './jobs.js';
import { ServiceMetrics } from './metrics.js';
import { normaliseRepository, projectRepository, SourceCache } from './sources.js';
import { StoreScan } from './store-scan.js';
import { TokenBook } from './tokens.js';
import { WebBundle } from './web.js';

// The build service, put together: the content store, the job store, the sources, the job
// service and the HTTP API on one listener. `weld server` is a thin verb around this; the
// tests start it in-process on 127.0.0.1 port 0.

export interface StartServiceOptions {
  stateDir: string;
  storePath: string;
  mirrorsDir: string;
  /** shown by /about */
  runnerName: string;
  /** the runner a job builds with, made for its metadata (picked by the caller: the runner is chosen at the edge) */
  makeRunner: (o: { metadata: Metadata; store: Store; env: NodeJS.ProcessEnv; registry?: RemoteSettings }) => Promise<Result<Runner, WeldError>>;
  host: string;
  port: number;
  /** where the server was started: its repository is the allow-list when none is configured */
  cwd: string;
  env: NodeJS.ProcessEnv;
  config: ServiceConfig;
  weldVersion: string;
  /** where the dashboard's built files are (default dist/web beside the compiled server) */
  webDir?: string;
  /** one JSON log line's fields (the verb writes them to stderr) */
  log: (fields: Record<string, unknown>) => void;
  /** the build backends the jobs' runners use, and the file the API keeps them in */
  backends?: BackendsApi;
}

export interface RunningService {
  url: string;
  port: number;
  jobs: JobService;
  /** SIGTERM: no new jobs, running builds get `timeoutMs` to finish, then are stopped (they resume at the next start) */
  drain(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY = 64 * 1024;

export async function startService(o: StartServiceOptions): Promise<Result<RunningService, WeldError>> {
  const c = o.config;
  const tokens = new TokenBook(o.stateDir);
  if (!isLoopback(o.host) && !tokens.enforced()) {
    return err(new ServiceConfigError(`weld server will not listen on ${o.host} without API tokens: anyone who reaches it could run builds`, `add one first: weld server token add NAME --role admin --state ${o.stateDir}`));
  }
  const allow = await allowList({ configured: c.repositories, cwd: o.cwd });
  if (!allow.ok) return allow;
  let https: { cert: Buffer; key: Buffer } | undefined;
  if (c.tlsCert && c.tlsKey) {
    try {
      https = { cert: readFileSync(c.tlsCert), key: readFileSync(c.tlsKey) };
    } catch (e: unknown) {
      return err(new ServiceConfigError(`cannot read the TLS certificate or key: ${(e as Error).message}`));
    }
  }
  const remote = await serverRemote(c, o.env);
  if (!remote.ok) return remote;
  const store = await openStore({ path: o.storePath, create: true });
  if (!store.ok) return err(store.error);
  const jobStore = await JobStore.open({ stateDir: o.stateDir });
  if (!jobStore.ok) return jobStore;
  const allowPaths = [...(o.env['WELD_ALLOW_PATHS'] ?? '').split(':'), ...(c.allowPaths ?? [])].filter(Boolean);
  const env = { ...o.env, ...(allowPaths.length ? { WELD_ALLOW_PATHS: allowPaths.join(':') } : {}) };
  const jobs = new JobService({
    jobStore: jobStore.value,
    sources: new SourceCache({ stateDir: o.stateDir }),
    store: store.value,
    mirrorsDir: o.mirrorsDir,
    // the server's store remote, never a job's: backends pull env images from it
    makeRunner: (metadata) => o.makeRunner({ metadata, store: store.value, env, ...(remote.value ? { registry: remote.value } : {}) }),
    allow: allow.value,
    env,
    composesDir: path.join(o.stateDir, 'composes'),
    loadImages: o.runnerName === 'podman',
    concurrentJobs: c.concurrentJobs ?? 1,
    maxLogLines: c.maxLogLines ?? 1_000_000,
    buildJobs: c.buildJobs ?? 2,
    weldVersion: o.weldVersion,
    log: o.log,
    ...(remote.value ? { remote: remote.value } : {}),
  });
  const storeScan = new StoreScan(store.value);
  const metrics = new ServiceMetrics({ jobs, jobStore: jobStore.value, storeScan });
  const web = WebBundle.load(o.webDir);
  if (!web) o.log({ msg: 'no dashboard: the web bundle is not built (npm run build:web)', dir: o.webDir ?? 'dist/web' });
  const app = buildApi({
    jobs,
    jobStore: jobStore.value,
    tokens,
    metrics,
    read: c.read ?? 'open',
    maxBody: c.maxBody ?? DEFAULT_MAX_BODY,
    maxStreams: c.maxStreams ?? 1000,
    log: o.log,
    store: store.value,
    storeScan,
    storeRemote: remote.value?.config.url.text,
    web,
    ...(https ? { https } : {}),
    ...(o.backends ? { backends: o.backends } : {}),
    about: () => ({
      name: 'weld',
      version: o.weldVersion,
      api: 'v1',
      auth: { mutations: tokens.enforced() ? 'bearer token' : 'open (loopback, no tokens yet)', reads: c.read === 'token' && tokens.enforced() ? 'bearer token' : 'open' },
      store: store.value.path,
      runner: o.runnerName,
      repositories: allow.value,
      concurrentJobs: c.concurrentJobs ?? 1,
      tls: https !== undefined,
    }),
  });
  try {
    await app.listen({ host: o.host, port: o.port });
  } catch (e: unknown) {
    await jobStore.value.close();
    return err(new ServiceConfigError(`cannot listen on ${o.host}:${o.port}: ${(e as Error).message}`, (e as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'another process has that port; pick another with --listen' : undefined));
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  const shown = o.host.includes(':') ? `[${o.host}]` : o.host;
  const url = `${https ? 'https' : 'http'}://${shown}:${port}`;
  jobs.resume();
  o.log({ msg: 'listening', url, state: o.stateDir, store: store.value.path, runner: o.runnerName, repositories: allow.value, auth: tokens.enforced(), ...(remote.value ? { storeRemote: shownRemote(remote.value.config.url.text), push: remote.value.push, trustedKeys: remote.value.config.trusted.size } : {}) });
  let closed: Promise<void> | undefined;
  return ok({
    url,
    port,
    jobs,
    drain: (timeoutMs) => jobs.drain(timeoutMs),
    close: () =>
      (closed ??= (async () => {
        await jobs.drain(0);
        await app.close();
        await jobStore.value.close();
      })()),
  });
}

async function allowList(o: { configured: string[] | undefined; cwd: string }): Promise<Result<string[], ServiceConfigError>> {
  if (o.configured === undefined) {
    const own = await projectRepository(o.cwd);
    return ok(own ? [own] : []);
  }
  const out: string[] = [];
  for (const entry of o.configured) {
    const prefix = entry.endsWith('/*') ? '/*' : entry.endsWith('/') ? '/' : '';
    const n = normaliseRepository(prefix ? entry.slice(0, -prefix.length) : entry);
    if (!n.ok) return err(new ServiceConfigError(`repositories: ${n.error.message}`));
    out.push(prefix ? `${n.value}/` : n.value);
  }
  return ok(out);
}

/**
 * The server's store remote, from its config (store_remote, store_push, trusted_keys,
 * signing_key, tls_verify) and environment (WELD_STORE_REMOTE, WELD_SIGNING_KEY,
 * WELD_TLS_VERIFY), never from a job's metadata: see config.ts.
 */
export async function serverRemote(c: ServiceConfig, env: NodeJS.ProcessEnv): Promise<Result<RemoteSettings | undefined, WeldError>> {
  return resolveRemote({
    // As the server's other keys, the config (and the flags over it) wins over the environment.
    section: c.trustedKeys ? { trustedKeys: c.trustedKeys } : {},
    env,
    flags: {
      ...(c.storeRemote ? { storeRemote: c.storeRemote } : {}),
      ...(c.tlsVerify !== undefined ? { tlsVerify: c.tlsVerify } : {}),
      ...(c.signingKey ? { signingKey: c.signingKey } : {}),
      ...(c.storePush !== undefined ? { push: c.storePush } : {}),
    },
  });
}
