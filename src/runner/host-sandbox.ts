import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** What `unshare` can do on this host, found out once per process. */
export interface Sandbox {
  /** the unshare flags to prefix, or none */
  prefix: string[];
  net: boolean;
  /** a private mount namespace: read-only source and a private /tmp/weld-build */
  mounts: boolean;
}

let detected: Promise<Sandbox> | undefined;

/** PATH is the one part of the environment a probe reads: it picks the `unshare` that builds use. */
export interface ProbeOptions {
  path?: string;
}

// Tried in order: a user namespace (unprivileged hosts) first, then plain namespaces (root
// without user namespaces). The probe does exactly what builds do, so a yes here holds later.
const CANDIDATES: Array<{ flags: string[]; mounts: boolean }> = [
  { flags: ['-rnm'], mounts: true },
  { flags: ['-nm'], mounts: true },
  { flags: ['-rn'], mounts: false },
  { flags: ['-n'], mounts: false },
];

/** Asynchronous, so it overlaps the runner's other probes and start-up work. */
export function detectSandbox(): Promise<Sandbox> {
  return (detected ??= probeSandbox());
}

/** The probe itself, uncached: the same answer on the same host, however slow the host is today. */
export async function probeSandbox(opts: ProbeOptions = {}): Promise<Sandbox> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'weld-probe-'));
  try {
    for (const c of CANDIDATES) {
      const probe = c.mounts ? `${MOUNT_SETUP}\n! ( : > "$WELD_SRC/x" ) 2>/dev/null` : 'true';
      if (await succeeds('unshare', [...c.flags, '/bin/sh', '-c', probe], { PATH: opts.path ?? process.env['PATH'] ?? '/usr/bin:/bin', WELD_SRC: dir })) {
        return { prefix: ['unshare', ...c.flags], net: true, mounts: c.mounts };
      }
    }
    return { prefix: [], net: false, mounts: false };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// No deadline: the answer is part of the local runner's cache key, and a deadline turned a
// loaded host's slow "yes" into a "no" (a weaker sandbox, so every key changed). unshare,
// sh and mount do kernel work only; nothing here waits on the network or a user.
function succeeds(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}

/**
 * Shell run inside the mount namespace: the source becomes a read-only bind mount and
 * /tmp/weld-build (the fixed build path of recipes/lib/common.sh) a private tmpfs, so
 * parallel builds of one package cannot meet there.
 */
export const MOUNT_SETUP = [
  'set -e',
  'mount --bind "$WELD_SRC" "$WELD_SRC"',
  'mount -o remount,ro,bind "$WELD_SRC"',
  'mkdir -p /tmp/weld-build',
  'mount -t tmpfs -o mode=0755 weld-build /tmp/weld-build',
  'set +e',
].join('\n');
