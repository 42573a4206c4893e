import type { Listener, SubjectEvent } from '../../core/events.js';

// What composing a wheelhouse reports while it works, in the one event shape of
// src/core/events.ts (subject: the compose); the CLI decides what to print.
export type WheelhouseEvent =
  /** a wheel is in `wheels/`, hard-linked from the store or (across file systems) copied */
  | SubjectEvent<'placed', { file: string; package: string; how: 'linked' | 'copied' }, 'compose'>
  /** the index pages, manifest and SBOM are written and the directory is in place */
  | SubjectEvent<'written', { out: string; wheels: number; projects: number }, 'compose'>;

export type WheelhouseListener = Listener<WheelhouseEvent>;
