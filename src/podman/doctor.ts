import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { emitterFor, type SubjectEvent } from '../core/events.js';
import { archInfo } from './arch.js';
import { decideContainersConf } from './containers-conf.js';
import { detectHost, type HostFacts } from './host.js';

export interface Check {
  id: string;
  ok: boolean;
  /** what was found, in words */
  detail: string;
  /** the commands that fix it, as a root shell would run them */
  fix?: string[][];
  /** informational checks never fail the doctor */
  info?: boolean;
}

/** What `weld doctor --fix` reports as it runs the fixes, in the one event shape of
 *  src/core/events.ts (subject: the host being fixed, by its host name). */
export type DoctorEvent =
  | SubjectEvent<'fix-start', { check: string; command: string }, 'host'>
  | SubjectEvent<'fix-output', { check: string; line: string }, 'host'>
  | SubjectEvent<'fix-done', { check: string; command: string; ok: boolean }, 'host'>;

const MIN_FREE = 5 * 1024 ** 3;
export const APT_INSTALL = ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-q'];

/** Every check s390x (or any foreign-arch) builds depend on, with the fix for each failure. */
export function checkHost(h: HostFacts): Check[] {
  const q = archInfo(h.target).qemu;
  const checks: Check[] = [];
  checks.push({ id: 'user', ok: true, info: true, detail: h.root ? 'running as root (rootful podman)' : 'running rootless: podman needs subuid/subgid ranges for this user; fixes below need root (prefix with sudo)' });
  checks.push(h.podman ? { id: 'podman', ok: true, detail: h.podman } : { id: 'podman', ok: false, detail: 'podman is not installed', fix: [[...APT_INSTALL, 'podman']] });
  const runtimeOk = h.cgroupUnified ? Boolean(h.crun || h.runc) : Boolean(h.runc);
  checks.push(
    runtimeOk
      ? { id: 'oci-runtime', ok: true, detail: h.cgroupUnified ? `${h.crun ?? h.runc} (cgroup v2)` : `${h.runc} (cgroups hybrid/legacy: crun cannot run here, runc can)` }
      : { id: 'oci-runtime', ok: false, detail: h.cgroupUnified ? 'no OCI runtime (crun or runc)' : 'runc is not installed, and crun does not support this host\'s hybrid/legacy cgroups', fix: [[...APT_INSTALL, 'runc']] },
  );
  if (h.binfmt !== 'native') {
    checks.push(h.qemu ? { id: 'qemu-user', ok: true, detail: h.qemu } : { id: 'qemu-user', ok: false, detail: `qemu-${q}-static is not installed`, fix: [[...APT_INSTALL, 'qemu-user-static', 'binfmt-support']] });
    checks.push(
      h.binfmtMounted
        ? { id: 'binfmt-mount', ok: true, detail: '/proc/sys/fs/binfmt_misc is mounted' }
        : { id: 'binfmt-mount', ok: false, detail: 'binfmt_misc is not mounted', fix: [['mount', '-t', 'binfmt_misc', 'binfmt_misc', '/proc/sys/fs/binfmt_misc']] },
    );
    const register = [...(h.updateBinfmts ? [] : [[...APT_INSTALL, 'binfmt-support']]), ...(h.binfmtUnimported ? [['update-binfmts', '--import', `qemu-${q}`]] : []), ['update-binfmts', '--enable', `qemu-${q}`]];
    checks.push(
      h.binfmt === 'enabled'
        ? { id: 'binfmt', ok: true, detail: `qemu-${q} is registered and enabled` }
        : { id: 'binfmt', ok: false, detail: `qemu-${q} is ${h.binfmt === 'missing' ? 'not registered' : 'registered but disabled'} with binfmt_misc`, fix: register },
    );
  }
  const conf = decideContainersConf({ host: h });
  checks.push({
    id: 'containers-conf',
    ok: true,
    info: true,
    detail: h.userContainersConf
      ? `CONTAINERS_CONF=${h.userContainersConf} is set: weld uses it as it is`
      : conf.reasons.length
        ? `weld runs podman with CONTAINERS_CONF=.weld/podman/containers.conf because ${conf.reasons.join('; ')}`
        : 'podman defaults work here: no containers.conf needed',
  });
  const gib = (h.freeBytes / 1024 ** 3).toFixed(1);
  checks.push(
    h.freeBytes >= MIN_FREE
      ? { id: 'disk', ok: true, detail: `${gib} GiB free` }
      : { id: 'disk', ok: false, detail: `only ${gib} GiB free; an s390x builder and its store need about 5 GiB`, fix: [['weld', 'store', 'gc']] },
  );
  return checks;
}

export interface DoctorReport {
  /** --fix changes the host only as root */
  root: boolean;
  checks: Check[];
  /** commands run by --fix, in order */
  applied: Array<{ command: string; ok: boolean }>;
}

/** What one profile of the doctor looks at: run again after fixing. */
export type Look = () => { root: boolean; checks: Check[] };

/** The host checks foreign-arch builds need (the default profile). */
export function doctor(opts: { target: string; dir: string; fix: boolean; env?: NodeJS.ProcessEnv; onEvent?: (e: DoctorEvent) => void }): Promise<DoctorReport> {
  const env = opts.env ?? process.env;
  const look: Look = () => {
    const host = detectHost({ target: opts.target, dir: opts.dir, env });
    return { root: host.root, checks: checkHost(host) };
  };
  return fixAndRecheck({ look, fix: opts.fix, env, ...(opts.onEvent ? { onEvent: opts.onEvent } : {}) });
}

/**
 * Checks; with `fix`, runs the fixes that apt and root can apply (never the disk one),
 * then checks again so the report shows the state after fixing.
 */
export async function fixAndRecheck(opts: { look: Look; fix: boolean; env: NodeJS.ProcessEnv; onEvent?: (e: DoctorEvent) => void }): Promise<DoctorReport> {
  const { env } = opts;
  let { root, checks } = opts.look();
  const applied: DoctorReport['applied'] = [];
  if (opts.fix && root) {
    const failing = checks.filter((c) => !c.ok && c.fix && c.id !== 'disk');
    const needsApt = failing.some((c) => c.fix!.some((cmd) => cmd.includes('apt-get')));
    const done = new Set<string>();
    let aptUpdated = false;
    for (const c of failing) {
      for (const cmd of c.fix!) {
        const line = cmd.join(' ');
        if (done.has(line)) continue;
        done.add(line);
        if (needsApt && !aptUpdated && cmd.includes('apt-get')) {
          // a fresh CI image has no package lists yet
          aptUpdated = true;
          applied.push({ command: 'apt-get update', ok: await runFix({ check: c.id, cmd: ['apt-get', 'update', '-q'], env, ...(opts.onEvent ? { onEvent: opts.onEvent } : {}) }) });
        }
        applied.push({ command: line, ok: await runFix({ check: c.id, cmd, env, ...(opts.onEvent ? { onEvent: opts.onEvent } : {}) }) });
      }
    }
    if (applied.length) ({ root, checks } = opts.look());
  }
  return { root, checks, applied };
}

function runFix(opts: { check: string; cmd: string[]; env: NodeJS.ProcessEnv; onEvent?: (e: DoctorEvent) => void }): Promise<boolean> {
  const command = opts.cmd.join(' ');
  const event = emitterFor<DoctorEvent>({ subject: { kind: 'host', name: hostname() }, listener: opts.onEvent });
  event('fix-start', { check: opts.check, command });
  return new Promise((resolve) => {
    const child = spawn(opts.cmd[0]!, opts.cmd.slice(1), { env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let rest = '';
    const onData = (s: string) => {
      const lines = (rest + s).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) event('fix-output', { check: opts.check, line });
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    let finished = false;
    const finish = (ok: boolean) => {
      // 'error' (could not spawn) may be followed by 'close'; report once
      if (finished) return;
      finished = true;
      if (rest) event('fix-output', { check: opts.check, line: rest });
      event('fix-done', { check: opts.check, command, ok });
      resolve(ok);
    };
    child.on('error', (e) => {
      rest += e.message;
      finish(false);
    });
    child.on('close', (code) => finish(code === 0));
  });
}
