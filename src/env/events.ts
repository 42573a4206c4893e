// What the env verbs report while they work; the CLI renders these, the library never prints.
export type EnvEvent =
  | { type: 'phase'; env: string; detail: string }
  | { type: 'download'; env: string; deb: string; done: number; total: number }
  | { type: 'fetched'; env: string; deb: string; downloaded: boolean; bytes: number }
  | { type: 'progress'; env: string; what: 'debs' | 'bytes'; done: number; total: number }
  | { type: 'warning'; env: string; message: string };

export type EnvListener = (e: EnvEvent) => void;
