import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { render } from 'ink';
import { createElement } from 'react';
import stringWidth from 'string-width';
import { describe, expect, it, vi } from 'vitest';

// ink decides at import whether it runs under CI (then it draws only the last frame, which
// would hide the ticking and the redraws these tests check): make it draw as on a terminal.
vi.hoisted(() => {
  process.env['CI'] = '0';
  delete process.env['CONTINUOUS_INTEGRATION'];
});
import type { BuildEvent } from '../../src/session/events.js';
import { finish, initialState, reduce, type BuildViewState } from '../../src/ui/build-state.js';
import { BuildView, formatElapsed } from '../../src/ui/build-view.js';
import { startBuildView } from '../../src/ui/ink-build.js';
import { packageEvent, warningEvent } from '../../src/session/events.js';
import { RunFailedError } from '../../src/runner/runner.js';
import { DependencyFailedError } from '../../src/session/failures.js';

/** Enough of a terminal for ink: a size, isTTY, and every write kept. */
class FakeTerminal extends Writable {
  readonly isTTY = true;
  columns = 100;
  rows = 40;
  readonly writes: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.writes.push(chunk.toString());
    done();
  }
  /** Everything written, without colours and cursor moves. */
  text(): string {
    return stripVTControlCharacters(this.writes.join(''));
  }
}

const output = { name: 'w.whl', digest: 'sha256:00', size: 1 } as never;

function stateOf(o: { packages: string[]; events: [number, BuildEvent][] }): BuildViewState {
  return o.events.reduce((s, [at, event]) => reduce(s, { event, at }), initialState({ packages: o.packages }));
}

/** Renders one frame the way weld does and returns its text. */
async function frame(o: { state: BuildViewState; now: number; maxRows?: number; rows?: number }): Promise<string> {
  const stdout = new FakeTerminal();
  if (o.rows) stdout.rows = o.rows;
  const app = render(createElement(BuildView, { state: o.state, now: o.now, maxRows: o.maxRows ?? 30, columns: 100 }), {
    stdout: stdout as unknown as NodeJS.WriteStream,
    debug: false,
    patchConsole: false,
    exitOnCtrlC: false,
  });
  app.unmount();
  await app.waitUntilExit();
  return stdout.text();
}

describe('BuildView', () => {
  const events: [number, BuildEvent][] = [
    [0, packageEvent('cached', 'zlib', { key: 'k', outputs: [output] })],
    [1000, packageEvent('started', 'pyyaml', { key: 'k', changed: ['source'] })],
    [2000, packageEvent('log', 'pyyaml', { line: '\x1b[1mgcc -c _yaml.c -o _yaml.o\x1b[0m' })],
    [3000, packageEvent('started', 'markupsafe', { key: 'k', changed: [] })],
    [4000, packageEvent('done', 'markupsafe', { key: 'k', outputs: [output], durationMs: 1500 })],
    [5000, packageEvent('failed', 'lxml', { error: new RunFailedError('exit', 'the recipe exited with status 1'), logTail: ['error'] })],
    [5000, packageEvent('skipped', 'jinja2', { error: new DependencyFailedError(['lxml']) })],
  ];
  const packages = ['zlib', 'pyyaml', 'markupsafe', 'lxml', 'jinja2', 'attrs'];

  it('shows every package with its state, elapsed time, last log line and the progress', async () => {
    const text = await frame({ state: stateOf({ packages, events }), now: 13_500 });
    expect(text).toContain('weld build: 2 of 6 done, 1 building, 1 failed, 1 skipped');
    expect(text).toMatch(/zlib +cached/);
    expect(text).toMatch(/pyyaml +building 12 s +gcc -c _yaml\.c -o _yaml\.o/);
    expect(text).toMatch(/markupsafe +built in 1\.5 s/);
    expect(text).toMatch(/lxml +failed: the recipe exited with status 1/);
    expect(text).toMatch(/jinja2 +skipped: dependency lxml did not build/);
    expect(text).toMatch(/attrs +waiting/);
    // rows keep build order
    const at = (p: string) => text.indexOf(`${p} `);
    expect(packages.map(at)).toEqual([...packages.map(at)].sort((a, b) => a - b));
  });

  it('cuts a long log line at the terminal edge instead of wrapping the row', async () => {
    const state = stateOf({ packages: ['pyyaml'], events: [[0, packageEvent('started', 'pyyaml', { key: 'k', changed: [] })], [0, packageEvent('log', 'pyyaml', { line: 'word '.repeat(60) + 'END' })]] });
    const lines = (await frame({ state, now: 0 })).split('\n').filter((l) => l.includes('pyyaml'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('END');
    expect(lines[0]).toMatch(/building 0 s +word word .*…$/);
  });

  it('says when it has finished, and summarises rows that do not fit', async () => {
    const many = Array.from({ length: 10 }, (_, i) => `p${i}`);
    const state = finish(stateOf({ packages: many, events: many.map((p) => [0, packageEvent('cached', p, { key: 'k', outputs: [] })] as [number, BuildEvent]) }));
    const text = await frame({ state, now: 0, maxRows: 5 });
    expect(text).toContain('weld build finished: 10 of 10 done');
    expect(text).toContain('… 6 more not shown');
    expect(text).toMatch(/p0 +cached/);
    expect(text).not.toContain('p9');
  });

  it('formats elapsed times in seconds, then minutes', () => {
    expect(formatElapsed(999)).toBe('0 s');
    expect(formatElapsed(59_000)).toBe('59 s');
    expect(formatElapsed(65_000)).toBe('1 min 05 s');
  });
});

describe('startBuildView', () => {
  it('ticks elapsed time while building, stops at the end and leaves the final frame', async () => {
    const stdout = new FakeTerminal();
    let now = 0;
    const view = startBuildView({ stdout: stdout as unknown as NodeJS.WriteStream, packages: ['a', 'b'], clock: () => now, tickMs: 10 });
    view.onEvent(packageEvent('cached', 'a', { key: 'k', outputs: [] }));
    view.onEvent(packageEvent('started', 'b', { key: 'k', changed: [] }));
    now = 7000;
    // ink draws at most every ~33 ms; give the ticker and the throttle time to show 7 s
    await new Promise((r) => setTimeout(r, 150));
    const ticking = stdout.text();
    view.onEvent(packageEvent('done', 'b', { key: 'k', outputs: [], durationMs: 7000 }));
    await view.end();
    const final = stdout.text();
    expect(final).toMatch(/b +built in 7\.0 s/);
    expect(final).toContain('weld build finished: 2 of 2 done');
    expect(ticking).toMatch(/b +building 7 s/);
    // nothing is drawn after the end, however long the clock runs
    const written = stdout.writes.length;
    now = 60_000;
    await new Promise((r) => setTimeout(r, 50));
    expect(stdout.writes.length).toBe(written);
  });

  it('cuts every line to the terminal width, so a redraw erases exactly what it drew', async () => {
    const stdout = new FakeTerminal();
    stdout.columns = 120;
    let now = 0;
    const packages = ['alpha', 'beta', 'gamma', 'delta'];
    const view = startBuildView({ stdout: stdout as unknown as NodeJS.WriteStream, packages, clock: () => now, tickMs: 10 });
    view.onEvent(warningEvent(`the network could not be cut: ${'unshare refused '.repeat(12)}`));
    for (const [i, pkg] of packages.entries()) {
      view.onEvent(packageEvent('started', pkg, { key: 'k', changed: [] }));
      // wider than the terminal, with a tab, escapes and double-width characters
      view.onEvent(packageEvent('log', pkg, { line: `\x1b[32mcompiling\x1b[0m\t${'src/very/long/path/module_'.repeat(8)}${i}.c 编译中编译中编译中` }));
    }
    now = 3000;
    await new Promise((r) => setTimeout(r, 150));
    view.onEvent(packageEvent('failed', 'delta', { error: new RunFailedError('exit', `the recipe exited with status 2: ${'x'.repeat(200)}`), logTail: [] }));
    await new Promise((r) => setTimeout(r, 60));
    await view.end();
    const lines = stdout.text().split('\n');
    expect(lines.length).toBeGreaterThan(12); // several frames were drawn
    const widest = Math.max(...lines.map((l) => stringWidth(l)));
    expect(widest).toBeLessThanOrEqual(119);
    expect(stdout.text()).toMatch(/alpha +building 3 s  compiling +src\/very\/long/);
    expect(stdout.text()).toMatch(/delta +failed: the recipe exited with status 2: x+…/);
  });
});
