import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync, realpathSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { canonicalJson, sha256Of } from '../core/digest.js';
import { writeFileAtomic } from '../util/fs.js';
import { probeSandbox, type Sandbox } from './host-sandbox.js';

// The local runner's env image is a description of the host's toolchain. Probing it starts
// four processes (python3, cc, patchelf, unshare: ~80 ms, more behind a version manager's
// shim), so it is cached, keyed by what the probes would see: the binaries PATH finds
// (realpath, size, mtime, ctime) and the kernel settings that decide what unshare may do.

/** patchelf rewrites repaired wheels on the host, so its version is part of what builds them. */
const TOOLS = ['python3', 'cc', 'patchelf'] as const;

export interface HostDescription {
  toolchain: Record<(typeof TOOLS)[number], string | null>;
  sandbox: Sandbox;
}

export interface DescribeOptions {
  /** where the description is cached (a project's .weld/cache); none: probe every time */
  cacheDir?: string;
  /** the PATH the probes and builds use */
  path: string;
  /** a cache that cannot be written still gives the description; this says so */
  onWarning?: (message: string) => void;
}

const CACHE_FILE = 'local-host.json';

/** The host's description: from the cache when nothing the probes read has changed, else probed. */
export async function describeHost(o: DescribeOptions): Promise<HostDescription> {
  const key = identityKey(o.path);
  const file = o.cacheDir ? path.join(o.cacheDir, CACHE_FILE) : undefined;
  const cached = file ? readCache(file, key) : undefined;
  if (cached) return cached;
  const [[python3, cc, patchelf], sandbox] = await Promise.all([Promise.all(TOOLS.map((t) => firstLine(t, o.path))), probeSandbox({ path: o.path })]);
  const host: HostDescription = { toolchain: { python3: python3 ?? null, cc: cc ?? null, patchelf: patchelf ?? null }, sandbox };
  if (file) {
    try {
      writeFileAtomic({ file, data: JSON.stringify({ key, host }) });
    } catch (e: unknown) {
      o.onWarning?.(`could not write the local runner's host cache ${file} (${e instanceof Error ? e.message : String(e)}); builds work, but probe the host again next time`);
    }
  }
  return host;
}

/** Everything the probes' answers depend on, as a digest: a change anywhere probes again. */
export function identityKey(searchPath: string): string {
  const binaries = [...TOOLS, 'unshare'].map((name) => ({ name, file: identify(which(name, searchPath)) }));
  const kernel = ['/proc/sys/user/max_user_namespaces', '/proc/sys/kernel/unprivileged_userns_clone', '/proc/sys/kernel/apparmor_restrict_unprivileged_userns'].map((f) => [f, readOrNull(f)]);
  return sha256Of(canonicalJson({ v: 1, binaries, kernel, versionManagers: versionManagerState(), os: `${os.type()} ${os.release()}`, arch: process.arch, uid: process.getuid?.() ?? null }));
}

// A version manager's shim stays the same file while the python it runs changes (`pyenv
// global`, PYENV_VERSION, an activated venv): what picks the python is part of the key.
function versionManagerState(): Record<string, string | null> {
  const env = process.env;
  const picked: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(env)) if (/^(PYENV_VERSION|PYENV_ROOT|ASDF_PYTHON_VERSION|VIRTUAL_ENV|CONDA_PREFIX)$/.test(k)) picked[k] = v ?? null;
  const pyenvRoot = env['PYENV_ROOT'] ?? path.join(os.homedir(), '.pyenv');
  picked['pyenv global'] = readOrNull(path.join(pyenvRoot, 'version'));
  return picked;
}

function readCache(file: string, key: string): HostDescription | undefined {
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as { key?: unknown; host?: HostDescription };
    return c.key === key && c.host && typeof c.host === 'object' && c.host.sandbox && c.host.toolchain ? c.host : undefined;
  } catch {
    return undefined; // none yet, or unreadable: probed and written again
  }
}

/** The first executable `name` on the search path, as a shell would find it. */
function which(name: string, searchPath: string): string | null {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const f = path.join(dir, name);
    try {
      accessSync(f, constants.X_OK);
      if (statSync(f).isFile()) return f;
    } catch {
      /* not here */
    }
  }
  return null;
}

function identify(file: string | null): Record<string, unknown> | null {
  if (!file) return null;
  try {
    const real = realpathSync(file);
    const st = statSync(real);
    return { path: file, real, size: st.size, mtime: st.mtimeMs, ctime: st.ctimeMs };
  } catch {
    return null;
  }
}

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

// No deadline, as for the sandbox probe: a slow answer is still the answer, and a
// deadline made a loaded host's tool "missing" and so changed every cache key.
function firstLine(cmd: string, searchPath: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(cmd, ['--version'], { encoding: 'utf8', env: { ...process.env, PATH: searchPath } }, (e, stdout, stderr) => resolve(e ? null : `${stdout}${stderr}`.split('\n')[0]!.trim()));
  });
}
