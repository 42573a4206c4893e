import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { finalLog, logFiles, runningLog } from '../../src/session/logs.js';

describe('build log files', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names a new live file for every build, so one process can build two keys of a package at once', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'weld-logs-'));
    const a = logFiles({ logsDir: dir, pkg: 'pyyaml', pid: process.pid });
    const b = logFiles({ logsDir: dir, pkg: 'pyyaml', pid: process.pid });
    expect(a.live).not.toBe(b.live);
    expect(a.final).toBe(b.final);
    expect(a.final).toBe(finalLog({ logsDir: dir, pkg: 'pyyaml' }));
  });

  it('finds the newest running log of a package, and not its test log or a dead process\'s', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'weld-logs-'));
    const older = logFiles({ logsDir: dir, pkg: 'pyyaml', pid: process.pid });
    const newer = logFiles({ logsDir: dir, pkg: 'pyyaml', pid: process.pid });
    const test = logFiles({ logsDir: dir, pkg: 'pyyaml.test', pid: process.pid });
    for (const f of [older, newer, test]) {
      writeFileSync(f.live, 'line\n');
      writeFileSync(f.running, String(process.pid));
    }
    utimesSync(older.live, new Date(1000), new Date(1000));
    expect(runningLog({ logsDir: dir, pkg: 'pyyaml' })).toBe(newer.live);
    expect(runningLog({ logsDir: dir, pkg: 'pyyaml.test' })).toBe(test.live);
    // a process that is gone (a pid that cannot exist) builds nothing
    writeFileSync(newer.running, '4194305');
    writeFileSync(older.running, '4194305');
    expect(runningLog({ logsDir: dir, pkg: 'pyyaml' })).toBeUndefined();
  });
});
