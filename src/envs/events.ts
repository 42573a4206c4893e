import type { Listener, PhaseEvent, ProgressEvent, SubjectEvent, WarningEvent } from '../core/events.js';

// What the env verbs report while they work, in the one event shape of src/core/events.ts
// (subject: the env); the CLI renders these, the library never prints.
export type EnvEvent =
  | PhaseEvent<'env'>
  | SubjectEvent<'fetched', { deb: string; downloaded: boolean; bytes: number }, 'env'>
  | ProgressEvent<'env', 'debs' | 'bytes'>
  /** the image of the env's lock came from the store remote, signed by `keyId`: nothing was fetched or composed */
  | SubjectEvent<'substituted', { remote: string; keyId: string; blobs: number; bytes: number; manifest: string }, 'env'>
  | (WarningEvent & { subject: { kind: 'env'; name: string } });

export type EnvListener = Listener<EnvEvent>;
