// The one event vocabulary of weld. Every verb tells what happens as events of one shape —
// what happened (`type`), to which package, env, compose or host (`subject`), when (`at`, ms
// since the epoch) and with what (`data`, plain JSON) — and front ends render them: the ink
// view, plain lines, `--json` (one event per line), and the build service's live stream.
// Building one is an object literal and a clock read: a no-op build of 1,000 packages emits
// 1,000 of them.
//
// Each verb declares its events as a union of these (src/session/events.ts, src/mirror/events.ts,
// src/envs/events.ts, src/compose/*/events.ts, src/podman/doctor.ts); the kinds every verb
// shares — `phase`, `progress`, `warning` — are declared here once so that a front end can
// render them without knowing the verb.

export type SubjectKind = 'package' | 'env' | 'compose' | 'host';

export const SUBJECT_KINDS: readonly SubjectKind[] = ['package', 'env', 'compose', 'host'];

export interface Subject {
  kind: SubjectKind;
  name: string;
  /** a package's build in a distro with several targets: `name` is then `<package>@<target>` */
  target?: string;
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

/** A step of a longer piece of work began: `detail` says what, in words; `D` adds the verb's fields. */
export type PhaseEvent<K extends SubjectKind, D extends object = object> = SubjectEvent<'phase', D & { detail: string }, K>;

/** How far a step is: `done` of `total` (when known) `unit`s; `D` adds the verb's fields. */
export type ProgressEvent<K extends SubjectKind, U extends string, D extends object = object> = SubjectEvent<'progress', D & { unit: U; done: number; total?: number }, K>;

/** Something the user should know that does not stop the work. */
export type WarningEvent = WeldEvent<'warning', { message: string }>;

export function event<T extends string, D extends object>(o: { type: T; subject?: Subject; data: D; at?: number }): WeldEvent<T, D> {
  return { type: o.type, ...(o.subject ? { subject: o.subject } : {}), at: o.at ?? Date.now(), data: o.data };
}

/**
 * An emitter for one subject's events, stamped now: `emit('phase', { detail })`. Typed by the
 * verb's union, so a misspelt type or a wrong field does not compile.
 */
export function emitterFor<E extends WeldEvent>(o: { subject: Subject; listener: Listener<E> | undefined }): <T extends E['type']>(type: T, data: Extract<E, { type: T }>['data']) => void {
  const { subject, listener } = o;
  return (type, data) => listener?.({ type, subject, at: Date.now(), data } as unknown as E);
}
