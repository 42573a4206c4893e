// The one event vocabulary of weld. Every verb tells what happens as events of one shape —
// what happened (`type`), to which package, env or compose (`subject`), when (`at`, ms since
// the epoch) and with what (`data`) — and front ends render them: the ink view, plain lines,
// `--json` (one event per line), and the build service's live stream. Building one is an
// object literal and a clock read: a no-op build of 1,000 packages emits 1,000 of them.

export type SubjectKind = 'package' | 'env' | 'compose';

export interface Subject {
  kind: SubjectKind;
  name: string;
}

export interface WeldEvent<T extends string = string, D extends object = object> {
  type: T;
  /** absent for events about the whole run (a warning about the host, say) */
  subject?: Subject;
  at: number;
  data: D;
}

/** An event about one subject. */
export type SubjectEvent<T extends string, D extends object, K extends SubjectKind = SubjectKind> = WeldEvent<T, D> & { subject: Subject & { kind: K } };

export type Listener<E extends WeldEvent> = (e: E) => void;

export function event<T extends string, D extends object>(o: { type: T; subject?: Subject; data: D; at?: number }): WeldEvent<T, D> {
  return { type: o.type, ...(o.subject ? { subject: o.subject } : {}), at: o.at ?? Date.now(), data: o.data };
}
