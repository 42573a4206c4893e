import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Metadata } from '../metadata/model.js';

// The build-log file scheme, written by build-one.ts and read by `weld log` (and next by
// the build service's live logs): one place, so writer and readers cannot drift apart.
//
//   <root>/.weld/logs/<pkg>.<pid>-<n>.log          while a build runs (each build its own file:
//                                                  one server process may build two keys of a package at once)
//   <root>/.weld/logs/<pkg>.<pid>-<n>.log.running  names the building process; removed at the end
//   <root>/.weld/logs/<pkg>.log                the last attempt's, once it has ended

/** Live and failed build logs: <root>/.weld/logs. */
export function logsDirOf(metadata: Pick<Metadata, 'root'> & { distro?: Pick<Metadata['distro'], 'viewOf'> }): string {
  // One directory per target of a matrix: each target's build of a package has its own last log.
  const target = metadata.distro?.viewOf;
  return target ? path.join(metadata.root, '.weld', 'logs', target) : path.join(metadata.root, '.weld', 'logs');
}

let builds = 0;

/** The files of one build of `pkg` by process `pid`; each call names a new live file. */
export function logFiles(o: { logsDir: string; pkg: string; pid: number }): { live: string; running: string; final: string } {
  const live = path.join(o.logsDir, `${o.pkg}.${o.pid}-${++builds}.log`);
  return { live, running: `${live}.running`, final: path.join(o.logsDir, `${o.pkg}.log`) };
}

/** The last attempt's log of `pkg`, once it has ended. */
export function finalLog(o: { logsDir: string; pkg: string }): string {
  return path.join(o.logsDir, `${o.pkg}.log`);
}

/**
 * A build is running while its `<log>.running` file names a live process: a weld
 * killed mid-build (SIGKILL, the OOM killer) cannot remove the file itself.
 */
export function buildRunning(liveFile: string): boolean {
  try {
    process.kill(Number(readFileSync(`${liveFile}.running`, 'utf8').trim()), 0);
    return true;
  } catch {
    return false;
  }
}

/** The log of a build of `pkg` running now, the newest if several processes build it. */
export function runningLog(o: { logsDir: string; pkg: string }): string | undefined {
  let names: string[];
  try {
    names = readdirSync(o.logsDir);
  } catch {
    return undefined;
  }
  const live = names
    .filter((n) => n.startsWith(`${o.pkg}.`) && /^\d+(-\d+)?\.log$/.test(n.slice(o.pkg.length + 1)))
    .map((n) => path.join(o.logsDir, n))
    .filter(buildRunning);
  return live.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}
