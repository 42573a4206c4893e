/** What composing a wheelhouse reports while it works; the CLI decides what to print. */
export type WheelhouseEvent =
  | { type: 'wheel'; file: string; placed: 'linked' | 'copied' }
  | { type: 'written'; out: string; wheels: number; projects: number };
