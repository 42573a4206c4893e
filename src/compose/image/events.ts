import type { Listener, PhaseEvent, SubjectEvent } from '../../core/events.js';

// What `weld compose image` reports while it works, in the one event shape of
// src/core/events.ts (subject: the compose); the CLI renders these, the library never prints.
export type ImageEvent =
  | PhaseEvent<'compose'>
  /** a wheel is unpacked into the layer's site-packages */
  | SubjectEvent<'installed', { package: string; file: string; files: number }, 'compose'>;

export type ImageListener = Listener<ImageEvent>;
