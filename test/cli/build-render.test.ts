import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { liveRenderer, wantsLiveView } from '../../src/cli/build-render.js';
import type { CliIO } from '../../src/cli/io.js';
import { packageEvent } from '../../src/session/events.js';
import { RunFailedError } from '../../src/runner/runner.js';

class FakeTerminal extends Writable {
  readonly isTTY = true;
  readonly columns = 100;
  readonly rows = 40;
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe('weld build renderers', () => {
  it('picks the live view only for a terminal outside CI, without --json', () => {
    const io = (o: { tty: boolean; env?: NodeJS.ProcessEnv }): CliIO => ({ stdout: { write: () => true, isTTY: o.tty }, stderr: { write: () => true }, cwd: '/', env: o.env ?? {} });
    expect(wantsLiveView({ io: io({ tty: true }), json: false })).toBe(true);
    expect(wantsLiveView({ io: io({ tty: false }), json: false })).toBe(false);
    expect(wantsLiveView({ io: io({ tty: true }), json: true })).toBe(false);
    expect(wantsLiveView({ io: io({ tty: true, env: { CI: 'true' } }), json: false })).toBe(false);
    expect(wantsLiveView({ io: io({ tty: true, env: { TERM: 'dumb' } }), json: false })).toBe(false);
  });

  it('prints a failure’s log tail and `weld log` hint, and --check verdicts, after the view', async () => {
    const stdout = new FakeTerminal();
    let stderr = '';
    const io: CliIO = { stdout, stderr: { write: (s: string) => (stderr += s) }, cwd: '/', env: {} };
    const r = await liveRenderer({ io, packages: ['a', 'b'] });
    r.onEvent(packageEvent('done', 'a', { key: 'k', outputs: [], durationMs: 10, check: { compared: true, match: true, differences: [] } }));
    r.onEvent(packageEvent('failed', 'b', { error: new RunFailedError('exit', 'the recipe exited with status 2'), logTail: ['cc: error'], logFile: '/p/.weld/logs/b.log' }));
    expect(stderr).toBe('');
    await r.end();
    expect(stderr).toBe(
      'b: FAILED: the recipe exited with status 2\n' + 'b: last lines of the log:\n  cc: error\n' + 'b: the whole log: weld log b   (/p/.weld/logs/b.log)\n',
    );
    const out = stripVTControlCharacters(stdout.text);
    expect(out).toMatch(/weld build finished: 1 of 2 done, 1 failed\n[^]*✗ b +failed: the recipe exited with status 2\n[^]*a: check: outputs match the record\n$/);
  });
});
