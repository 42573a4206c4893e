import path from 'node:path';
import { writeFileIfChanged } from '../util/fs.js';
import type { HostFacts } from './host.js';

/**
 * What podman's defaults would trip over on this host, and the containers.conf that
 * avoids it. Empty `reasons` means the defaults work and no file is used, so a host
 * that needs nothing gets plain podman.
 */
export interface ContainersConf {
  reasons: string[];
  /** the file's content; empty when nothing is needed */
  text: string;
}

// Podman as root asks the runtime for nofile/nproc at 1048576; without
// CAP_SYS_RESOURCE that is refused whenever the hard limits are lower.
const PODMAN_WANTS = 1_048_576;
const NOFILE = 20_000;
const NPROC = 4_096;

export function decideContainersConf(opts: { host: HostFacts }): ContainersConf {
  const h = opts.host;
  const reasons: string[] = [];
  const containers: string[] = [];
  const engine: string[] = [];
  if (!h.cgroupUnified && h.runc) {
    // crun (podman's default runtime) fails with "cgroups in hybrid mode not supported"
    reasons.push('cgroups are in hybrid/legacy mode, which crun does not support: runtime = "runc"');
    engine.push('runtime = "runc"');
  } else if (!h.crun && h.runc) {
    reasons.push('crun is not installed: runtime = "runc"');
    engine.push('runtime = "runc"');
  }
  const { nofileHard, nprocHard } = h.limits;
  if (!h.capSysResource && (nofileHard < PODMAN_WANTS || nprocHard < PODMAN_WANTS)) {
    const nofile = Math.min(NOFILE, nofileHard);
    const nproc = Math.min(NPROC, nprocHard);
    reasons.push(`no CAP_SYS_RESOURCE to raise rlimits beyond the hard limits (nofile ${nofileHard}, nproc ${nprocHard}): default_ulimits nofile=${nofile}, nproc=${nproc}`);
    containers.push(`default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`);
  }
  if (!reasons.length) return { reasons, text: '' };
  const lines = ['# Written by weld (src/podman/containers-conf.ts) for this host; see `weld doctor`.'];
  if (containers.length) lines.push('[containers]', ...containers);
  if (engine.length) lines.push('[engine]', ...engine);
  return { reasons, text: lines.join('\n') + '\n' };
}

/** Writes the conf under `<root>/.weld/podman/` (only when its content changed) and returns its path. */
export function writeContainersConf(opts: { root: string; conf: ContainersConf }): string {
  const file = path.join(opts.root, '.weld', 'podman', 'containers.conf');
  writeFileIfChanged({ file, text: opts.conf.text });
  return file;
}
