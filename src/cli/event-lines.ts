import type { ImageEvent } from '../compose/image/events.js';
import type { WheelhouseEvent } from '../compose/wheelhouse/events.js';
import type { Subject, WeldEvent } from '../core/events.js';
import type { EnvEvent } from '../envs/events.js';
import type { MirrorEvent } from '../mirror/events.js';
import type { DoctorEvent } from '../podman/doctor.js';
import type { BuildEvent } from '../session/events.js';
import type { CliIO } from './io.js';

/** Checked here, at compile time: a vocabulary that left the core shape would not compile. */
type CoreShaped<E extends WeldEvent> = E;

/** Every event a verb emits: each vocabulary is the core shape, so one writer (and the
 *  service's stream) takes them all. */
export type VerbEvent = CoreShaped<BuildEvent | MirrorEvent | EnvEvent | WheelhouseEvent | ImageEvent | DoctorEvent>;

/** The last line of a verb's `--json` stream: what the verb did, in the same shape. */
export type SummaryEvent = WeldEvent<'summary', object>;

export interface EventLines {
  write(e: WeldEvent): void;
  /** writes the verb's result as the stream's last line, after every pending event */
  summary(o: { subject?: Subject; data: object }): void;
  /** writes what is pending; call before returning, so an error line comes after the events */
  end(): void;
}

/**
 * `--json`: one event per line on stdout. Lines are gathered and written once per turn of the
 * event loop (a no-op of a thousand packages is one write, not a thousand). A `progress`
 * event is written when its whole percent changes, or (no total) at most every 200 ms per
 * subject and unit: a download reports every chunk, and a reader wants how far, not each chunk.
 */
export function eventLines(io: CliIO): EventLines {
  let pending = '';
  const flush = () => {
    if (pending) io.stdout.write(pending);
    pending = '';
  };
  const shown = new Map<string, number>();
  const thin = (e: WeldEvent): boolean => {
    if (e.type !== 'progress') return false;
    const d = e.data as { unit?: string; done?: number; total?: number; phase?: string };
    const key = `${e.subject?.kind}/${e.subject?.name}/${d.phase ?? ''}/${d.unit ?? ''}`;
    const mark = d.total ? Math.floor((100 * (d.done ?? 0)) / d.total) : Math.floor(e.at / 200);
    if (shown.get(key) === mark && d.done !== d.total) return true;
    shown.set(key, mark);
    return false;
  };
  const write = (e: WeldEvent) => {
    if (thin(e)) return;
    if (!pending) setImmediate(flush);
    pending += JSON.stringify(e) + '\n';
  };
  return {
    write,
    summary: (o) => {
      write({ type: 'summary', ...(o.subject ? { subject: o.subject } : {}), at: Date.now(), data: o.data });
      flush();
    },
    end: flush,
  };
}
