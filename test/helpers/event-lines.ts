import { SUBJECT_KINDS, type Subject, type WeldEvent } from '../../src/core/events.js';

// The one shape of a `--json` stream, checked line by line: what a reader of any verb's
// output may rely on (README, "--json"). Throws naming the line that is not that shape.

/** Why a parsed line is not an event of the core shape, or undefined when it is one. */
export function notAnEvent(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => !['type', 'subject', 'at', 'data'].includes(k));
  if (extra.length) return `unexpected keys ${extra.join(', ')}`;
  if (typeof o['type'] !== 'string' || !/^[a-z][a-z-]*$/.test(o['type'])) return `type ${JSON.stringify(o['type'])} is not a lower-case word`;
  if (typeof o['at'] !== 'number' || !Number.isInteger(o['at']) || Math.abs(o['at'] - Date.now()) > 3_600_000) return `at ${JSON.stringify(o['at'])} is not ms since the epoch, about now`;
  if (typeof o['data'] !== 'object' || o['data'] === null || Array.isArray(o['data'])) return 'data is not an object';
  if ('subject' in o) {
    const s = o['subject'] as Partial<Subject> | null;
    if (typeof s !== 'object' || s === null) return 'subject is not an object';
    if (!SUBJECT_KINDS.includes(s.kind as Subject['kind'])) return `subject.kind ${JSON.stringify(s.kind)} is not one of ${SUBJECT_KINDS.join(', ')}`;
    if (typeof s.name !== 'string' || !s.name) return 'subject.name is not a non-empty string';
    if (Object.keys(s).length !== 2) return 'subject has keys other than kind and name';
  }
  return undefined;
}

export interface EventStream {
  events: WeldEvent[];
  /** the stream's last line: the verb's result (`summary`) */
  summary: WeldEvent | undefined;
  /** a failed run's last line instead: `{"error": {code, message, …}}` */
  error: ({ code: string; message: string } & Record<string, unknown>) | undefined;
}

/** Every line of a verb's `--json` stdout, each checked to be one event of the core shape. */
export function eventStream(stdout: string): EventStream {
  const lines = stdout.split('\n');
  if (lines.pop() !== '') throw new Error('the stream does not end with a newline');
  const events: WeldEvent[] = [];
  let error: EventStream['error'];
  lines.forEach((line, i) => {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new Error(`line ${i + 1} is not one JSON value: ${line.slice(0, 80)}`);
    }
    if (i === lines.length - 1 && typeof v === 'object' && v !== null && Object.keys(v).join() === 'error') {
      error = (v as { error: NonNullable<EventStream['error']> }).error;
      return;
    }
    const why = notAnEvent(v);
    if (why) throw new Error(`line ${i + 1} is not an event (${why}): ${line.slice(0, 120)}`);
    events.push(v as WeldEvent);
  });
  const summaries = events.filter((e) => e.type === 'summary');
  if (summaries.length > 1 || (summaries.length === 1 && events.at(-1)?.type !== 'summary')) throw new Error('a summary event that is not the last line');
  if (error && summaries.length) throw new Error('both a summary and an error');
  return { events: events.filter((e) => e.type !== 'summary'), summary: summaries[0], error };
}

/** The `data` of a successful run's summary line. */
export function summaryData<T>(stdout: string): T {
  const s = eventStream(stdout).summary;
  if (!s) throw new Error(`no summary line in:\n${stdout}`);
  return s.data as T;
}
