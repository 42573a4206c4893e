import { readFileSync } from 'node:fs';
import path from 'node:path';
import { err, ok, type Result } from '../core/result.js';
import { parseToml } from '../metadata/toml.js';
import { ServiceConfigError } from './errors.js';

// The server's config file (TOML, every key optional; flags win over it):
//
//   listen = "127.0.0.1:8080"
//   state = "/var/lib/weld"          # job store, tokens, cache repositories, logs, composes
//   store = "/var/lib/weld/store"    # the content store builds go into
//   mirrors = "/var/lib/weld/mirrors"
//   runner = "podman"                # or "local"
//   backends = "/etc/weld/backends.toml"   # the build backends file (POST/DELETE /api/v1/backends write it)
//   read = "open"                    # or "token": reads need a token too
//   repositories = ["https://git.example.com/distros/"]   # the allow-list (prefixes end in /)
//   allow_paths = ["/srv/releases"]  # where local upstreams may come from (as WELD_ALLOW_PATHS)
//   concurrent_jobs = 1              # jobs building at once
//   build_jobs = 2                   # builds at once inside a job (default: the cores)
//   drain_timeout = 600              # seconds SIGTERM lets running builds finish
//   max_body = 65536                 # request bodies over it get 413
//   max_log_lines = 1000000          # lines a job's log keeps
//   max_streams = 1000               # SSE streams open at once; more get 503
//   tls_cert = "…" ; tls_key = "…"
//   store_remote = "oci://registry.example.com/weld"   # the shared store (as [store] remote)
//   store_push = true                # push what the jobs build and compose
//   trusted_keys = ["weld-ed25519:…"] # whose records substitution takes
//   signing_key = "/etc/weld/keys/server.key"           # what pushed records are signed with
//   tls_verify = true                # false: plain HTTP to a local registry
//
// The store remote is the server's, never a job's: a distro's [store] comes from a
// repository the server does not control, and taking its trusted_keys would let whoever
// writes that repository put builds into the server's store.

export interface ServiceConfig {
  listen?: string;
  state?: string;
  store?: string;
  mirrors?: string;
  runner?: string;
  backends?: string;
  read?: 'open' | 'token';
  repositories?: string[];
  allowPaths?: string[];
  concurrentJobs?: number;
  buildJobs?: number;
  drainTimeoutS?: number;
  maxBody?: number;
  maxLogLines?: number;
  maxStreams?: number;
  tlsCert?: string;
  tlsKey?: string;
  storeRemote?: string;
  storePush?: boolean;
  trustedKeys?: string[];
  signingKey?: string;
  tlsVerify?: boolean;
}

type Kind = 'string' | 'strings' | 'count' | 'boolean';
const KEYS: Record<string, { kind: Kind; field: keyof ServiceConfig; path?: boolean }> = {
  listen: { kind: 'string', field: 'listen' },
  state: { kind: 'string', field: 'state', path: true },
  store: { kind: 'string', field: 'store', path: true },
  mirrors: { kind: 'string', field: 'mirrors', path: true },
  runner: { kind: 'string', field: 'runner' },
  backends: { kind: 'string', field: 'backends', path: true },
  read: { kind: 'string', field: 'read' },
  repositories: { kind: 'strings', field: 'repositories' },
  allow_paths: { kind: 'strings', field: 'allowPaths' },
  concurrent_jobs: { kind: 'count', field: 'concurrentJobs' },
  build_jobs: { kind: 'count', field: 'buildJobs' },
  drain_timeout: { kind: 'count', field: 'drainTimeoutS' },
  max_body: { kind: 'count', field: 'maxBody' },
  max_log_lines: { kind: 'count', field: 'maxLogLines' },
  max_streams: { kind: 'count', field: 'maxStreams' },
  tls_cert: { kind: 'string', field: 'tlsCert', path: true },
  tls_key: { kind: 'string', field: 'tlsKey', path: true },
  store_remote: { kind: 'string', field: 'storeRemote' },
  store_push: { kind: 'boolean', field: 'storePush' },
  trusted_keys: { kind: 'strings', field: 'trustedKeys' },
  signing_key: { kind: 'string', field: 'signingKey', path: true },
  tls_verify: { kind: 'boolean', field: 'tlsVerify' },
};

/** Reads and checks the config file; relative paths in it are relative to the file. */
export function readServiceConfig(file: string): Result<ServiceConfig, ServiceConfigError> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e: unknown) {
    return err(new ServiceConfigError(`cannot read the config file ${file}: ${(e as Error).message}`));
  }
  const parsed = parseToml(text);
  if (!parsed.ok) return err(new ServiceConfigError(`${file}:${parsed.position.line}:${parsed.position.col}: ${parsed.message}`));
  const out: ServiceConfig = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(parsed.doc)) {
    const spec = KEYS[key];
    if (!spec) {
      problems.push(`unknown key "${key}" (known: ${Object.keys(KEYS).join(', ')})`);
      continue;
    }
    if (spec.kind === 'string') {
      if (typeof value !== 'string' || value === '') problems.push(`${key} must be a non-empty string`);
      else (out as Record<string, unknown>)[spec.field] = spec.path ? path.resolve(path.dirname(file), value) : value;
    } else if (spec.kind === 'strings') {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) problems.push(`${key} must be a list of non-empty strings`);
      else (out as Record<string, unknown>)[spec.field] = value;
    } else if (spec.kind === 'boolean') {
      if (typeof value !== 'boolean') problems.push(`${key} must be true or false`);
      else (out as Record<string, unknown>)[spec.field] = value;
    } else if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) problems.push(`${key} must be a whole number of at least 1`);
    else (out as Record<string, unknown>)[spec.field] = value;
  }
  if (out.read !== undefined && out.read !== 'open' && out.read !== 'token') problems.push(`read must be "open" or "token", not "${String(out.read)}"`);
  if ((out.tlsCert === undefined) !== (out.tlsKey === undefined)) problems.push('tls_cert and tls_key go together');
  if (problems.length) return err(new ServiceConfigError(`${file}: ${problems.join('; ')}`));
  return ok(out);
}

/** "host:port" → parts; IPv6 in brackets. */
export function parseListen(s: string): Result<{ host: string; port: number }, ServiceConfigError> {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) return err(new ServiceConfigError(`--listen ${s} is not host:port (e.g. 127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080)`));
  return ok({ host: (m[1] ?? m[2])!, port });
}

/** Whether an address to bind is loopback only. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
