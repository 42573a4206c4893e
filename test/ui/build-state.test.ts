import { describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../src/session/events.js';
import { finish, initialState, logLineForView, MAX_LINE, progressOf, reduce, visibleRows, type BuildViewState } from '../../src/ui/build-state.js';
import { packageEvent, warningEvent } from '../../src/session/events.js';
import { RunFailedError } from '../../src/runner/runner.js';
import { DependencyFailedError, TestFailedError } from '../../src/session/failures.js';

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
        warningEvent('no podman; building on the host'),
        packageEvent('cached', 'a', { key: 'k', outputs: [output] }),
        packageEvent('started', 'b', { key: 'k', changed: ['source'] }),
        packageEvent('log', 'b', { line: 'compiling' }),
        packageEvent('done', 'b', { key: 'k', outputs: [output], durationMs: 4200 }),
        packageEvent('started', 'c', { key: 'k', changed: [] }),
        packageEvent('failed', 'c', { error: new RunFailedError('exit', 'the recipe exited with status 2'), logTail: ['boom'] }),
        packageEvent('skipped', 'd', { error: new DependencyFailedError(['c']) }),
        packageEvent('started', 'e', { key: 'k', changed: [] }),
        packageEvent('log', 'e', { line: 'running setup.py' }),
      ],
    });
    expect(s.warnings).toEqual(['no podman; building on the host']);
    expect(s.packages).toEqual({
      a: { state: 'cached' },
      b: { state: 'done', durationMs: 4200 },
      c: { state: 'failed', reason: 'the recipe exited with status 2' },
      d: { state: 'skipped', reason: 'dependency c did not build' },
      e: { state: 'building', startedAt: 1008, lastLine: 'running setup.py' },
    });
    expect(progressOf(s)).toEqual({ total: 5, done: 2, building: 1, failed: 1, skipped: 1 });
    expect(s.finished).toBe(false);
    expect(finish(s).finished).toBe(true);
  });

  it('follows a wheel through its test: testing with its last line, then back to built or cached, tested; a failed test fails the row', () => {
    const s = replay({
      packages: ['a', 'b', 'c', 'd'],
      events: [
        packageEvent('started', 'a', { key: 'k', changed: [] }),
        packageEvent('done', 'a', { key: 'k', outputs: [output], durationMs: 1500 }),
        packageEvent('testing', 'a', { testKey: 't', env: 'rt' }),
        packageEvent('log', 'a', { line: 'test: import a ok' }),
        packageEvent('cached', 'b', { key: 'k', outputs: [output] }),
        packageEvent('tested', 'b', { testKey: 't', reused: true, durationMs: 0 }),
        packageEvent('cached', 'c', { key: 'k', outputs: [output] }),
        packageEvent('testing', 'c', { testKey: 't', env: 'rt' }),
        packageEvent('test-failed', 'c', { testKey: 't', error: new TestFailedError('test failed: import c: ImportError: libc-ext.so.1'), logTail: [] }),
        packageEvent('cached', 'd', { key: 'k', outputs: [output] }),
        packageEvent('testing', 'd', { testKey: 't', env: 'rt' }),
        packageEvent('tested', 'd', { testKey: 't', reused: false, durationMs: 900 }),
      ],
    });
    expect(s.packages).toEqual({
      a: { state: 'testing', startedAt: 1002, built: { state: 'done', durationMs: 1500 }, lastLine: 'test: import a ok' },
      b: { state: 'cached', tested: true },
      c: { state: 'failed', reason: 'test failed: import c: ImportError: libc-ext.so.1' },
      d: { state: 'cached', tested: true },
    });
    expect(progressOf(s)).toEqual({ total: 4, done: 2, building: 1, failed: 1, skipped: 0 });
  });

  it('does not depend on how events of unrelated packages interleave', () => {
    const a: BuildEvent[] = [
      packageEvent('started', 'a', { key: 'k', changed: [] }),
      packageEvent('log', 'a', { line: 'a1' }),
      packageEvent('done', 'a', { key: 'k', outputs: [output], durationMs: 10 }),
    ];
    const b: BuildEvent[] = [
      packageEvent('started', 'b', { key: 'k', changed: [] }),
      packageEvent('log', 'b', { line: 'b1' }),
      packageEvent('log', 'b', { line: 'b2' }),
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
        packageEvent('log', 'a', { line: 'before start' }),
        packageEvent('started', 'a', { key: 'k', changed: [] }),
        packageEvent('log', 'a', { line: 'useful' }),
        packageEvent('log', 'a', { line: '   ' }),
        packageEvent('log', 'a', { line: '\x1b[32m\x1b[0m' }),
        packageEvent('cached', 'extra', { key: 'k', outputs: [] }),
      ],
    });
    expect(s.packages['a']).toEqual({ state: 'building', startedAt: 1001, lastLine: 'useful' });
    expect(s.order).toEqual(['a', 'extra']);
    const after = reduce(reduce(s, { event: packageEvent('done', 'a', { key: 'k', outputs: [], durationMs: 1 }), at: 9 }), { event: packageEvent('log', 'a', { line: 'late' }), at: 10 });
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
        packageEvent('cached', 'a', { key: 'k', outputs: [] }),
        packageEvent('failed', 'b', { error: new RunFailedError('exit', 'x'), logTail: [] }),
        packageEvent('started', 'e', { key: 'k', changed: [] }),
      ],
    });
    expect(visibleRows({ state: s, max: 6 })).toEqual({ rows: ['a', 'b', 'c', 'd', 'e', 'f'], hidden: 0 });
    expect(visibleRows({ state: s, max: 4 })).toEqual({ rows: ['a', 'b', 'e'], hidden: 3 });
    expect(visibleRows({ state: s, max: 2 })).toEqual({ rows: ['e'], hidden: 5 });
  });
});
