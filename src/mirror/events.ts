import type { Listener, PhaseEvent, ProgressEvent, SubjectEvent, WarningEvent } from '../core/events.js';

// What `weld mirror` reports while it works, in the one event shape of src/core/events.ts
// (subject: the package); the CLI renders these, the library never prints.
export type MirrorPhase = 'fetch' | 'download' | 'import' | 'patch' | 'resolve';

export type MirrorEvent =
  | SubjectEvent<'mirroring', Record<string, never>, 'package'>
  | PhaseEvent<'package', { phase: MirrorPhase }>
  | ProgressEvent<'package', 'bytes' | 'files', { phase: MirrorPhase }>
  | (WarningEvent & { subject: { kind: 'package'; name: string } });

export type MirrorListener = Listener<MirrorEvent>;

type DataOf<T extends MirrorEvent['type']> = Extract<MirrorEvent, { type: T }>['data'];

/** An event about one package's mirror, stamped now. */
export function mirrorEvent<T extends MirrorEvent['type']>(pkg: string, type: T, data: DataOf<T>): MirrorEvent {
  return { type, subject: { kind: 'package', name: pkg }, at: Date.now(), data } as MirrorEvent;
}
