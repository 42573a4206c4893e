/** What `weld compose image` reports while it works; the CLI renders these, the library never prints. */
export type ImageEvent =
  | { type: 'phase'; compose: string; detail: string }
  | { type: 'wheel'; compose: string; package: string; file: string; files: number };

export type ImageListener = (e: ImageEvent) => void;
