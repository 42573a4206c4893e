import { LocalRunner } from '../../src/runner/local.js';
import { detectSandbox } from '../../src/runner/host-sandbox.js';
import { describe, expect, it } from 'vitest';
import { runnerContract } from './contract.js';

runnerContract({ name: 'local', make: () => new LocalRunner() });

describe('local runner', () => {
  it('describes the host as its env image and says what it could not isolate', async () => {
    const info = await new LocalRunner().info();
    expect(info.envImage['runner']).toBe('local');
    // Debian's names for node's, written out here rather than taken from the runner
    const debian: Record<string, string> = { x64: 'amd64', arm64: 'arm64', s390x: 's390x', ppc64: 'ppc64el', ia32: 'i386', arm: 'armhf', riscv64: 'riscv64' };
    expect(info.arch).toBe(debian[process.arch]);
    const sb = await detectSandbox();
    expect(info.warnings.some((w) => w.includes('network'))).toBe(!sb.net);
  });

  it('warns when unshare is not available, and still runs recipes', async () => {
    const runner = new LocalRunner({ sandbox: { prefix: [], net: false, mounts: false } });
    const info = await runner.info();
    expect(info.warnings).toEqual([
      'local runner: `unshare` cannot cut the network on this host; recipes run with network access',
      'local runner: no private mount namespace; WELD_SRC is a throw-away copy but not read-only, and /tmp/weld-build is shared',
    ]);
  });
});
