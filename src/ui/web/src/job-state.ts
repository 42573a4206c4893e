import type { Job, PackageStatus } from './types.js';

// A job read again (after its state changed, or when /events reconnects) is mostly the
// job the page has: keeping the unchanged parts' objects lets the memoised graph, its
// nodes and the list's rows skip them, so a re-read costs what changed, not a redraw of
// a thousand packages. The server writes a job's keys in a stable order, so equal JSON
// is equal content.

const same = (a: unknown, b: unknown) => a === b || JSON.stringify(a) === JSON.stringify(b);

export function keepUnchanged(prev: Job | undefined, next: Job): Job {
  if (!prev || prev.id !== next.id) return next;
  let changed = false;
  const states: Record<string, PackageStatus> = {};
  const names = Object.keys(next.packageStates);
  if (names.length !== Object.keys(prev.packageStates).length) changed = true;
  for (const n of names) {
    const before = prev.packageStates[n];
    const after = next.packageStates[n]!;
    if (before && same(before, after)) states[n] = before;
    else {
      states[n] = after;
      changed = true;
    }
  }
  const requires = same(prev.requires, next.requires) ? prev.requires : next.requires;
  const { packageStates: _a, requires: _b, ...restNext } = next;
  const { packageStates: _c, requires: _d, ...restPrev } = prev;
  if (!changed && requires === prev.requires && same(restPrev, restNext)) return prev;
  return { ...next, packageStates: changed ? states : prev.packageStates, ...(requires !== undefined ? { requires } : {}) };
}

/** The states of a job still under way: its builds, and then its composes, are still to come. */
export const ACTIVE = new Set(['init', 'wait', 'build']);
