import { describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../src/build/events.js';
import { finish, initialState, logLineForView, MAX_LINE, progressOf, reduce, visibleRows, type BuildViewState } from '../../src/ui/build-state.js';

const output = { name: 'a-1.0-py3-none-any.whl', digest: 'sha256:00', size: 1 } as never;

function replay(o: { packages: string[]; events: BuildEvent[]; start?: number }): BuildViewState {
  let at = o.start ?? 1000;
  return o.events.reduce((s, event) => reduce(s, { event, at: at++ }), initialState({ packages: o.packages }));
}

describe('build view state', () => {
  it('starts with every package waiting, in the order given', () => {
    const s = initialState({ packages: ['zlib', 'attrs', 'pyyaml'] });
    expect(s.order).toEqual(['zlib', 'attrs', 'pyyaml']);
    expect(Object.values(s.packages)).toEqual([{ state: 'waiting' }, { state: 'waiting' }, { state: 'waiting' }]);
    expect(progressOf(s)).toEqual({ total: 3, done: 0, building: 0, failed: 0, skipped: 0 });
  });

  it('follows every event type to its state', () => {
    const s = replay({
      packages: ['a', 'b', 'c', 'd', 'e'],
      events: [
        { type: 'warning', message: 'no podman; building on the host' },
        { type: 'cached', pkg: 'a', key: 'k', outputs: [output] },
        { type: 'started', pkg: 'b', key: 'k', changed: ['source'] },
        { type: 'log', pkg: 'b', line: 'compiling' },
        { type: 'done', pkg: 'b', key: 'k', outputs: [output], durationMs: 4200 },
        { type: 'started', pkg: 'c', key: 'k', changed: [] },
        { type: 'failed', pkg: 'c', reason: 'the recipe exited with status 2', logTail: ['boom'] },
        { type: 'skipped', pkg: 'd', reason: 'c failed' },
        { type: 'started', pkg: 'e', key: 'k', changed: [] },
        { type: 'log', pkg: 'e', line: 'running setup.py' },
      ],
    });
    expect(s.warnings).toEqual(['no podman; building on the host']);
    expect(s.packages).toEqual({
      a: { state: 'cached' },
      b: { state: 'done', durationMs: 4200 },
      c: { state: 'failed', reason: 'the recipe exited with status 2' },
      d: { state: 'skipped', reason: 'c failed' },
      e: { state: 'building', startedAt: 1008, lastLine: 'running setup.py' },
    });
    expect(progressOf(s)).toEqual({ total: 5, done: 2, building: 1, failed: 1, skipped: 1 });
    expect(s.finished).toBe(false);
    expect(finish(s).finished).toBe(true);
  });

  it('does not depend on how events of unrelated packages interleave', () => {
    const a: BuildEvent[] = [
      { type: 'started', pkg: 'a', key: 'k', changed: [] },
      { type: 'log', pkg: 'a', line: 'a1' },
      { type: 'done', pkg: 'a', key: 'k', outputs: [output], durationMs: 10 },
    ];
    const b: BuildEvent[] = [
      { type: 'started', pkg: 'b', key: 'k', changed: [] },
      { type: 'log', pkg: 'b', line: 'b1' },
      { type: 'log', pkg: 'b', line: 'b2' },
    ];
    const interleaved = [a[0], b[0], b[1], a[1], b[2], a[2]] as BuildEvent[];
    const states = [[...a, ...b], [...b, ...a], interleaved].map((events) => {
      const s = replay({ packages: ['a', 'b'], events });
      // start times differ with arrival; everything else must not
      const b = s.packages['b'];
      return { ...s, packages: { ...s.packages, b: b?.state === 'building' ? { ...b, startedAt: 0 } : b } };
    });
    expect(states[1]).toEqual(states[0]);
    expect(states[2]).toEqual(states[0]);
    expect(states[0]?.packages['b']).toEqual({ state: 'building', startedAt: 0, lastLine: 'b2' });
  });

  it('ignores log lines outside a build and blank lines, and lists unplanned packages last', () => {
    const s = replay({
      packages: ['a'],
      events: [
        { type: 'log', pkg: 'a', line: 'before start' },
        { type: 'started', pkg: 'a', key: 'k', changed: [] },
        { type: 'log', pkg: 'a', line: 'useful' },
        { type: 'log', pkg: 'a', line: '   ' },
        { type: 'log', pkg: 'a', line: '\x1b[32m\x1b[0m' },
        { type: 'cached', pkg: 'extra', key: 'k', outputs: [] },
      ],
    });
    expect(s.packages['a']).toEqual({ state: 'building', startedAt: 1001, lastLine: 'useful' });
    expect(s.order).toEqual(['a', 'extra']);
    const after = reduce(reduce(s, { event: { type: 'done', pkg: 'a', key: 'k', outputs: [], durationMs: 1 }, at: 9 }), { event: { type: 'log', pkg: 'a', line: 'late' }, at: 10 });
    expect(after.packages['a']).toEqual({ state: 'done', durationMs: 1 });
  });

  it('cuts the last log line to something one row can show', () => {
    expect(logLineForView({ line: '\x1b[1;31merror:\x1b[0m undefined reference' })).toBe('error: undefined reference');
    expect(logLineForView({ line: ' 10%\r 55%\r 99%\r' })).toBe('99%');
    expect(logLineForView({ line: 'a\tb\x07c  ' })).toBe('a  bc');
    expect(logLineForView({ line: '' })).toBeUndefined();
    const long = logLineForView({ line: 'x'.repeat(500) });
    expect(long).toHaveLength(MAX_LINE);
    expect(long?.endsWith('…')).toBe(true);
    expect(logLineForView({ line: 'abcdefgh', max: 5 })).toBe('abcd…');
    expect(logLineForView({ line: 'abcde', max: 5 })).toBe('abcde');
  });

  it('keeps building and failed rows when not every row fits', () => {
    const s = replay({
      packages: ['a', 'b', 'c', 'd', 'e', 'f'],
      events: [
        { type: 'cached', pkg: 'a', key: 'k', outputs: [] },
        { type: 'failed', pkg: 'b', reason: 'x', logTail: [] },
        { type: 'started', pkg: 'e', key: 'k', changed: [] },
      ],
    });
    expect(visibleRows({ state: s, max: 6 })).toEqual({ rows: ['a', 'b', 'c', 'd', 'e', 'f'], hidden: 0 });
    expect(visibleRows({ state: s, max: 4 })).toEqual({ rows: ['a', 'b', 'e'], hidden: 3 });
    expect(visibleRows({ state: s, max: 2 })).toEqual({ rows: ['e'], hidden: 5 });
  });
});
