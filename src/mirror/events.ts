// What `weld mirror` reports while it works; the CLI renders these, the library never prints.
export type MirrorPhase = 'fetch' | 'download' | 'import' | 'patch' | 'resolve';

export type MirrorEvent =
  | { type: 'start'; pkg: string }
  | { type: 'phase'; pkg: string; phase: MirrorPhase; detail: string }
  | { type: 'progress'; pkg: string; phase: MirrorPhase; done: number; total?: number; unit: 'bytes' | 'files' }
  | { type: 'warning'; pkg: string; message: string };

export type MirrorListener = (e: MirrorEvent) => void;
