import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { archInfo, hostArch } from './arch.js';
import { which } from '../util/which.js';

/** What this host offers for running foreign-arch containers; read, never changed. */
export interface HostFacts {
  arch: string;
  /** the arch the builds need */
  target: string;
  root: boolean;
  podman?: string;
  runc?: string;
  crun?: string;
  aptGet?: string;
  updateBinfmts?: string;
  /** the qemu-user binary for the target, when the target is foreign */
  qemu?: string;
  binfmtMounted: boolean;
  /** the binfmt_misc entry of the target: missing, disabled or enabled */
  binfmt: 'missing' | 'disabled' | 'enabled' | 'native';
  /**
   * qemu's format file is installed (/usr/share/binfmts) but binfmt-support's database
   * lacks it: `update-binfmts --enable` then fails until it is imported (seen after an
   * interrupted apt-get install of qemu-user-static).
   */
  binfmtUnimported?: boolean;
  /** cgroup v2 only (unified); crun refuses the hybrid and legacy layouts */
  cgroupUnified: boolean;
  /** CAP_SYS_RESOURCE: without it the OCI runtime cannot raise rlimits above the hard limits */
  capSysResource: boolean;
  limits: { nofileHard: number; nprocHard: number };
  freeBytes: number;
  /** set by the user: weld then leaves the containers configuration alone */
  userContainersConf?: string;
}

const BINFMT = '/proc/sys/fs/binfmt_misc';

export function detectHost(opts: { target: string; dir: string; env?: NodeJS.ProcessEnv }): HostFacts {
  const env = opts.env ?? process.env;
  const find = (name: string) => which({ name, env });
  const arch = hostArch();
  const native = arch === opts.target;
  const q = archInfo(opts.target).qemu;
  const binfmtMounted = existsSync(`${BINFMT}/status`);
  let binfmt: HostFacts['binfmt'] = native ? 'native' : 'missing';
  if (!native && binfmtMounted) {
    const entry = readText(`${BINFMT}/qemu-${q}`);
    if (entry !== undefined) binfmt = /^enabled$/m.test(entry) ? 'enabled' : 'disabled';
  }
  const qemu = native ? undefined : (find(`qemu-${q}-static`) ?? find(`qemu-${q}`));
  const facts: HostFacts = {
    arch,
    target: opts.target,
    root: process.getuid?.() === 0,
    binfmtMounted,
    binfmt,
    cgroupUnified: cgroupUnified(),
    capSysResource: hasCap(24),
    limits: readLimits(),
    freeBytes: freeBytes(opts.dir),
  };
  for (const [k, name] of [['podman', 'podman'], ['runc', 'runc'], ['crun', 'crun'], ['aptGet', 'apt-get'], ['updateBinfmts', 'update-binfmts']] as const) {
    const p = find(name);
    if (p) facts[k] = p;
  }
  if (qemu) facts.qemu = qemu;
  if (!native && existsSync(`/usr/share/binfmts/qemu-${q}`) && !existsSync(`/var/lib/binfmts/qemu-${q}`)) facts.binfmtUnimported = true;
  if (env['CONTAINERS_CONF']) facts.userContainersConf = env['CONTAINERS_CONF'];
  return facts;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function cgroupUnified(): boolean {
  // the unified hierarchy has cgroup.controllers at its root; hybrid mounts it under unified/
  return existsSync('/sys/fs/cgroup/cgroup.controllers');
}

/** Whether bit `cap` is in this process's effective capability set. */
export function hasCap(cap: number): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readText('/proc/self/status') ?? '');
  if (!m) return false;
  return ((BigInt(`0x${m[1]}`) >> BigInt(cap)) & 1n) === 1n;
}

function readLimits(): HostFacts['limits'] {
  const text = readText('/proc/self/limits') ?? '';
  const hard = (label: string) => {
    const m = new RegExp(`^${label}\\s+\\S+\\s+(\\S+)`, 'm').exec(text);
    return !m || m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  };
  return { nofileHard: hard('Max open files'), nprocHard: hard('Max processes') };
}

function freeBytes(dir: string): number {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
}

/** Runs a probe command quietly; used by doctor to confirm a fix took. */
export function probe(opts: { cmd: string; args: string[]; env?: NodeJS.ProcessEnv }): { ok: boolean; output: string } {
  const r = spawnSync(opts.cmd, opts.args, { encoding: 'utf8', env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() || (r.error?.message ?? '') };
}
