import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeHost } from '../../src/runner/host-description.js';
import { probeSandbox } from '../../src/runner/host-sandbox.js';

// Real tools behind thin shims on a private PATH: each shim logs that it ran, then runs the real tool.
const TOOLS = ['python3', 'cc', 'patchelf', 'unshare'];
const real = (t: string) => execFileSync('/bin/sh', ['-c', `command -v ${t} || true`], { encoding: 'utf8' }).trim();

let dir: string;
let bin: string;
let log: string;
const hostPath = () => `${bin}:/usr/bin:/bin`;
const runs = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);

function shim(tool: string, before = ''): void {
  const target = real(tool);
  const file = path.join(bin, tool);
  writeFileSync(file, `#!/bin/sh\necho ${tool} >> '${log}'\n${before}\n${target ? `exec '${target}' "$@"` : 'exit 127'}\n`);
  chmodSync(file, 0o755);
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'weld-host-'));
  bin = path.join(dir, 'bin');
  execFileSync('mkdir', [bin]);
  log = path.join(dir, 'runs.log');
  for (const t of TOOLS) shim(t);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the local runner host description', () => {
  it('is probed once, then read from the cache without starting a process', async () => {
    const cacheDir = path.join(dir, 'cache');
    const first = await describeHost({ cacheDir, path: hostPath() });
    expect(new Set(runs())).toEqual(new Set(TOOLS));
    writeFileSync(log, '');
    const second = await describeHost({ cacheDir, path: hostPath() });
    expect(runs()).toEqual([]);
    expect(second).toEqual(first);
    // and the cached answer is the probe's own
    expect(second.sandbox).toEqual(await probeSandbox({ path: hostPath() }));
  });

  it('probes again when a version manager would pick another python behind the same shim', async () => {
    const cacheDir = path.join(dir, 'cache');
    // VIRTUAL_ENV stands for them all: a PYENV_VERSION here would send pyenv's fallback
    // search back into this test's own python3 shim.
    const saved = process.env['VIRTUAL_ENV'];
    try {
      await describeHost({ cacheDir, path: hostPath() });
      writeFileSync(log, '');
      process.env['VIRTUAL_ENV'] = path.join(dir, 'venv');
      await describeHost({ cacheDir, path: hostPath() });
      expect(runs()).toContain('python3');
    } finally {
      if (saved === undefined) delete process.env['VIRTUAL_ENV'];
      else process.env['VIRTUAL_ENV'] = saved;
    }
  });

  it('probes again when a probed binary changes (mtime), or another one comes first on PATH', async () => {
    const cacheDir = path.join(dir, 'cache');
    await describeHost({ cacheDir, path: hostPath() });
    writeFileSync(log, '');
    utimesSync(path.join(bin, 'cc'), new Date(), new Date('2020-01-01T00:00:00Z'));
    await describeHost({ cacheDir, path: hostPath() });
    expect(new Set(runs())).toEqual(new Set(TOOLS));
    writeFileSync(log, '');
    const other = path.join(dir, 'other');
    execFileSync('mkdir', [other]);
    writeFileSync(path.join(other, 'python3'), `#!/bin/sh\necho other-python3 >> '${log}'\necho 'Python 0.0.1'\n`);
    chmodSync(path.join(other, 'python3'), 0o755);
    const moved = await describeHost({ cacheDir, path: `${other}:${hostPath()}` });
    expect(moved.toolchain.python3).toBe('Python 0.0.1');
    expect(runs()).toContain('other-python3');
  });

  it('a cache that cannot be written is a warning, and the description is still given', async () => {
    const blocker = path.join(dir, 'file');
    writeFileSync(blocker, 'not a directory');
    const warnings: string[] = [];
    const host = await describeHost({ cacheDir: path.join(blocker, 'cache'), path: hostPath(), onWarning: (w) => warnings.push(w) });
    expect(host.toolchain.python3).toMatch(/^Python 3\./);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`could not write the local runner's host cache ${path.join(blocker, 'cache', 'local-host.json')}`);
  });

  // The bench's "every key changed" run: on a loaded host the first unshare took longer than
  // the probe's 10 s deadline, was killed, and counted as a no, so the sandbox (a part of the
  // env image, so of every cache key) came out weaker. A slow answer must be the same answer.
  it('a slow unshare gives the same sandbox as a quick one', { timeout: 60_000 }, async () => {
    const quick = await probeSandbox({ path: hostPath() });
    const marker = path.join(dir, 'slow-once');
    shim('unshare', `if [ ! -e '${marker}' ]; then : > '${marker}'; sleep 11; fi`);
    const slow = await probeSandbox({ path: hostPath() });
    expect(slow).toEqual(quick);
  });
});
