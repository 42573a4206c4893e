import { stripVTControlCharacters } from 'node:util';
import type { BuildEvent } from '../session/events.js';

/** `tested`: the wheel's test passed (run now, or reused for its key) */
type Verdict = { state: 'cached'; tested?: boolean; /** pulled from the store remote */ substituted?: boolean } | { state: 'done'; durationMs: number; tested?: boolean };

export type PackageState =
  | { state: 'waiting' }
  | Verdict
  | { state: 'building'; startedAt: number; lastLine?: string; backend?: string }
  /** built (or cached) and now in its test; `built` is what it returns to once the test passes */
  | { state: 'testing'; startedAt: number; built: Verdict; lastLine?: string; backend?: string }
  | { state: 'failed'; reason: string }
  | { state: 'skipped'; reason: string };

export interface BuildViewState {
  /** build order, fixed up front so rows never jump around */
  order: string[];
  packages: Record<string, PackageState>;
  warnings: string[];
  /** set once the build has returned; elapsed times stop then */
  finished: boolean;
}

/** An event and when it arrived: the time comes in from outside so the reducer stays pure. */
export interface Received {
  event: BuildEvent;
  at: number;
}

/** A log line longer than this is cut in the state already; the view cuts further to the terminal. */
export const MAX_LINE = 160;

export function initialState(o: { packages: string[] }): BuildViewState {
  return { order: [...o.packages], packages: Object.fromEntries(o.packages.map((p) => [p, { state: 'waiting' }])), warnings: [], finished: false };
}

/** Shown in one row: no escapes or control characters that would break the frame, only what a
 *  progress bar (`\r`-separated rewrites) last showed, and no more than `max` characters. */
export function logLineForView(o: { line: string; max?: number }): string | undefined {
  const max = o.max ?? MAX_LINE;
  const segments = stripVTControlCharacters(o.line).split('\r');
  const last = segments.reverse().find((s) => s.trim() !== '') ?? '';
  const text = last.replace(/\t/g, '  ').replace(/[\u0000-\u001f\u007f]/g, '').trim();
  if (!text) return undefined;
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}

function withPackage(s: BuildViewState, pkg: string, next: PackageState): BuildViewState {
  // A package the executor reports but the plan did not list still gets a row, at the end.
  const order = s.order.includes(pkg) ? s.order : [...s.order, pkg];
  return { ...s, order, packages: { ...s.packages, [pkg]: next } };
}

export function reduce(s: BuildViewState, r: Received): BuildViewState {
  const e = r.event;
  switch (e.type) {
    case 'warning':
      return { ...s, warnings: [...s.warnings, e.data.message] };
    case 'started':
      return withPackage(s, e.subject.name, { state: 'building', startedAt: r.at });
    case 'log': {
      const current = s.packages[e.subject.name];
      // A line arriving after the verdict (or before `started`) says nothing about the row.
      if (current?.state !== 'building' && current?.state !== 'testing') return s;
      const line = logLineForView({ line: e.data.line });
      // A blank line would hide the last informative one.
      return line === undefined ? s : withPackage(s, e.subject.name, { ...current, lastLine: line });
    }
    case 'placed':
    case 'retried': {
      const current = s.packages[e.subject.name];
      if (current?.state !== 'building' && current?.state !== 'testing') return s;
      return withPackage(s, e.subject.name, { ...current, backend: e.data.backend });
    }
    case 'cached':
      return withPackage(s, e.subject.name, { state: 'cached' });
    case 'substituted':
      return withPackage(s, e.subject.name, { state: 'cached', substituted: true });
    case 'pushed':
      return s;
    case 'done':
      return withPackage(s, e.subject.name, { state: 'done', durationMs: e.data.durationMs });
    case 'failed':
      return withPackage(s, e.subject.name, { state: 'failed', reason: e.data.error.message });
    case 'skipped':
      return withPackage(s, e.subject.name, { state: 'skipped', reason: e.data.error.message });
    case 'testing': {
      const current = s.packages[e.subject.name];
      const built: Verdict = current?.state === 'done' || current?.state === 'cached' ? current : { state: 'cached' };
      return withPackage(s, e.subject.name, { state: 'testing', startedAt: r.at, built });
    }
    case 'tested': {
      const current = s.packages[e.subject.name];
      const built: Verdict = current?.state === 'testing' ? current.built : current?.state === 'done' || current?.state === 'cached' ? current : { state: 'cached' };
      return withPackage(s, e.subject.name, { ...built, tested: true });
    }
    case 'test-failed':
      return withPackage(s, e.subject.name, { state: 'failed', reason: e.data.error.message });
  }
}

export function finish(s: BuildViewState): BuildViewState {
  return { ...s, finished: true };
}

export interface Progress {
  total: number;
  /** built or reused from the cache */
  done: number;
  building: number;
  failed: number;
  skipped: number;
}

export function progressOf(s: BuildViewState): Progress {
  const p: Progress = { total: s.order.length, done: 0, building: 0, failed: 0, skipped: 0 };
  for (const name of s.order) {
    const st = s.packages[name]?.state;
    if (st === 'done' || st === 'cached') p.done++;
    else if (st === 'building' || st === 'testing') p.building++;
    else if (st === 'failed') p.failed++;
    else if (st === 'skipped') p.skipped++;
  }
  return p;
}

/** The rows that fit in `max` lines: building and failed ones first, the rest in build order;
 *  shown in build order. With `--all` the DAG can be taller than the terminal, and ink
 *  redraws a frame taller than the screen by clearing it every time. */
export function visibleRows(o: { state: BuildViewState; max: number }): { rows: string[]; hidden: number } {
  const { order, packages } = o.state;
  if (order.length <= o.max) return { rows: order, hidden: 0 };
  const room = Math.max(0, o.max - 1); // one line says how many are hidden
  const rank = (p: string) => {
    const st = packages[p]?.state;
    return st === 'building' || st === 'testing' ? 0 : st === 'failed' ? 1 : st === 'skipped' ? 2 : 3;
  };
  const chosen = new Set([...order].sort((a, b) => rank(a) - rank(b)).slice(0, room));
  return { rows: order.filter((p) => chosen.has(p)), hidden: order.length - chosen.size };
}
