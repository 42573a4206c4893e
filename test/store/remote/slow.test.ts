import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Of } from '../../../src/core/digest.js';
import type { BuildEvent } from '../../../src/session/events.js';
import { SessionRemote } from '../../../src/session/substitute.js';
import { resolveRemote } from '../../../src/store/remote/config.js';
import { freshStore, tempDir } from '../../helpers/store-temp.js';

// A registry that accepts connections and never answers: a build must not wait on it.
// (One that is down is in second-machine.test.ts.) vitest's 5 s test timeout is the bound.

describe('a registry too slow to answer', () => {
  let server: http.Server;
  let port: number;
  let tmp: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    server = http.createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    tmp = await tempDir('weld-slow-');
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await tmp.cleanup();
  });

  it('is given up on after its timeout with one warning, and every look-up is a miss', async () => {
    const settings = await resolveRemote({ env: { WELD_KEYS_DIR: path.join(tmp.dir, 'keys') }, flags: { storeRemote: `oci://127.0.0.1:${port}/weld`, tlsVerify: false }, timeoutMs: 300 });
    if (!settings.ok || !settings.value) throw new Error('no settings');
    const events: BuildEvent[] = [];
    const store = await freshStore(tmp.dir);
    const remote = new SessionRemote(settings.value, store, (e) => events.push(e));
    const got = await remote.builds([sha256Of('a'), sha256Of('b')]);
    const again = await remote.builds([sha256Of('c')]);
    await remote.close();
    expect(got).toEqual([undefined, undefined]);
    expect(again).toEqual([undefined]);
    const warnings = events.filter((e) => e.type === 'warning').map((e) => (e.data as { message: string }).message);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^store remote oci://127\\.0\\.0\\.1:${port}/weld: GET /v2/ failed: .*(Timeout|timeout).*; building locally without it`));
  });
});
