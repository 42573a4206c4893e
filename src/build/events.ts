import type { BuildOutput } from '../store/records.js';

// What the executor tells its listeners (ink view, plain logger, --json). It never prints.
export type BuildEvent =
  | { type: 'warning'; message: string }
  | { type: 'started'; pkg: string; key: string; changed: string[] }
  | { type: 'log'; pkg: string; line: string }
  | { type: 'cached'; pkg: string; key: string; outputs: BuildOutput[] }
  | { type: 'done'; pkg: string; key: string; outputs: BuildOutput[]; durationMs: number; check?: CheckResult }
  | { type: 'failed'; pkg: string; key?: string; reason: string; logTail: string[]; logFile?: string; keptDir?: string }
  | { type: 'skipped'; pkg: string; reason: string };

export type BuildListener = (e: BuildEvent) => void;

/** `--check`: the rebuild's outputs against the recorded ones. */
export interface CheckResult {
  /** false when there was no record to compare with */
  compared: boolean;
  match: boolean;
  differences: string[];
}
