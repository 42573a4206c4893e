import type { BuildEvent } from '../session/events.js';
import type { CliIO } from './io.js';
import { formatBytes } from './format.js';

/** Where `weld build` sends its events, and what it prints once the build has returned. */
export interface BuildRenderer {
  onEvent(e: BuildEvent): void;
  end(): Promise<void>;
}

type Failed = Extract<BuildEvent, { type: 'failed' | 'test-failed' }>;
type Done = Extract<BuildEvent, { type: 'done' }>;

/** The log's tail and how to see the rest: what a user needs to act on a failure. */
function printFailure(o: { io: CliIO; e: Failed }): void {
  const { io } = o;
  const pkg = o.e.subject.name;
  const e = o.e.data;
  io.stderr.write(`${pkg}: FAILED: ${e.error.message}\n`);
  if (e.logTail.length) io.stderr.write(`${pkg}: last lines of the log:\n${e.logTail.map((l) => `  ${l}`).join('\n')}\n`);
  if (e.logFile) io.stderr.write(`${pkg}: the whole log: weld log ${o.e.type === 'test-failed' ? '--test ' : ''}${pkg}   (${e.logFile})\n`);
  if ('keptDir' in e && e.keptDir) io.stderr.write(`${pkg}: work directory kept: ${e.keptDir}\n`);
}

function printCheck(o: { io: CliIO; e: Done }): void {
  const { io } = o;
  const check = o.e.data.check;
  if (!check) return;
  io.stdout.write(`${o.e.subject.name}: check: ${!check.compared ? 'no record to compare with (recorded this build)' : check.match ? 'outputs match the record' : `outputs DIFFER:\n  ${check.differences.join('\n  ')}`}\n`);
}

/**
 * Plain lines, one per event; a failure shows the log's tail and how to see the rest.
 * Lines are gathered and written once per turn of the event loop: a no-op build of a
 * thousand packages is one write, not a thousand. stderr flushes stdout first, so the
 * two keep their order.
 */
export function plainRenderer(realIo: CliIO): BuildRenderer {
  let pending = '';
  const flush = () => {
    if (pending) realIo.stdout.write(pending);
    pending = '';
  };
  const io: CliIO = {
    ...realIo,
    stdout: {
      write: (s: string) => {
        if (!pending) setImmediate(flush);
        pending += s;
        return true;
      },
    },
    stderr: {
      write: (s: string) => {
        flush();
        return realIo.stderr.write(s);
      },
    },
  };
  const onEvent = (e: BuildEvent) => {
    switch (e.type) {
      case 'warning':
        return void io.stderr.write(`weld: warning: ${e.data.message}\n`);
      case 'pushed':
        return void io.stdout.write(`pushed ${e.data.records} record${e.data.records === 1 ? '' : 's'} to ${e.data.remote} (${e.data.blobs} blob${e.data.blobs === 1 ? '' : 's'}, ${formatBytes(e.data.bytes)} sent${e.data.present ? `; ${e.data.present} there already` : ''})\n`);
      case 'substituted':
        return void io.stdout.write(`${e.subject.name}: substituted ${e.data.outputs.map((o) => o.name).join(', ')} from ${e.data.remote} (signed by ${e.data.keyId}; ${e.data.blobs} blob${e.data.blobs === 1 ? '' : 's'}, ${formatBytes(e.data.bytes)})\n`);
      case 'started':
        return void io.stdout.write(`${e.subject.name}: building (${e.data.changed.join('; ')})\n`);
      case 'log':
        return void io.stdout.write(`${e.subject.name} | ${e.data.line}\n`);
      case 'placed':
        return void io.stdout.write(`${e.subject.name}: ${e.data.step} on backend ${e.data.backend}\n`);
      case 'retried':
        return void io.stderr.write(`${e.subject.name}: backend ${e.data.lost.backend} lost (${e.data.lost.reason}); ${e.data.step} retried on backend ${e.data.backend} (attempt ${e.data.attempt})\n`);
      case 'cached':
        return void io.stdout.write(`${e.subject.name}: ${e.data.sharedFrom ? `shared, the pure wheel another target built:` : 'cached'} ${e.data.outputs.map((o) => o.name).join(', ')}\n`);
      case 'done':
        io.stdout.write(`${e.subject.name}: built ${e.data.outputs.map((o) => o.name).join(', ')} in ${(e.data.durationMs / 1000).toFixed(1)} s\n`);
        return printCheck({ io, e });
      case 'failed':
      case 'test-failed':
        return printFailure({ io, e });
      case 'skipped':
        return void io.stderr.write(`${e.subject.name}: skipped: ${e.data.error.message}\n`);
      case 'testing':
        return void io.stdout.write(`${e.subject.name}: testing in ${e.data.env}\n`);
      case 'tested':
        return void io.stdout.write(`${e.subject.name}: ${e.data.reused ? 'test passed before (reused)' : `tested in ${(e.data.durationMs / 1000).toFixed(1)} s`}\n`);
    }
  };
  return { onEvent, end: async () => flush() };
}

/** One event per line, errors as their JSON (code, message, hint and their own fields). */
export function jsonRenderer(io: CliIO): BuildRenderer {
  return { onEvent: (e) => void io.stdout.write(JSON.stringify(e) + '\n'), end: async () => {} };
}

/** A live view on a terminal a person watches; plain lines for pipes, logs and CI. */
export function wantsLiveView(o: { io: CliIO; json: boolean }): boolean {
  return o.io.stdout.isTTY === true && !o.json && !o.io.env['CI'] && o.io.env['TERM'] !== 'dumb';
}

/** The ink view, loaded only here so that piped and CI runs never load ink and react. What the
 *  view cannot keep on screen (failure log tails, --check verdicts) is printed after it ends. */
export async function liveRenderer(o: { io: CliIO; packages: string[] }): Promise<BuildRenderer> {
  const { startBuildView } = await import('../ui/ink-build.js');
  const { io } = o;
  // wantsLiveView saw isTTY, so this is the process's terminal stream, not a test's collector.
  const view = startBuildView({ stdout: io.stdout as NodeJS.WriteStream, packages: o.packages });
  const after: BuildEvent[] = [];
  return {
    onEvent(e) {
      view.onEvent(e);
      if (e.type === 'failed' || e.type === 'test-failed' || (e.type === 'done' && e.data.check)) after.push(e);
    },
    async end() {
      await view.end();
      for (const e of after) {
        if (e.type === 'failed' || e.type === 'test-failed') printFailure({ io, e });
        else if (e.type === 'done') printCheck({ io, e });
      }
    },
  };
}
