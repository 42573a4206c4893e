import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envInputsDigest } from '../../src/envs/inputs.js';
import { formatEnvLock } from '../../src/envs/lock-file.js';
import type { LockedDeb } from '../../src/metadata/model.js';
import { openMetadata } from '../../src/metadata/open.js';
import { buildDeb } from '../helpers/debs.js';
import { eventStream } from '../helpers/event-lines.js';
import { sampleProject, weld } from '../helpers/project.js';
import { fileServer, type TestServer } from '../helpers/servers.js';

// `weld env fetch|compose --json` through the CLI, against a loopback archive of real .debs:
// the stream is events of the core shape about the env, then a summary line. (`env lock` runs
// apt against a real Debian mirror, so it is left to the e2e suite.)
describe('weld env --json', () => {
  const ENV = 'bookworm-s390x-runtime';
  let root: string;
  let done: () => void;
  let server: TestServer;
  let processEnv: NodeJS.ProcessEnv;
  let locked: LockedDeb[];
  beforeAll(async () => {
    ({ root, cleanup: done } = sampleProject());
    const archive = path.join(root, 'archive');
    locked = [
      buildDeb({ dir: root, name: 'base-passwd', files: [{ path: 'usr/share/base-passwd/passwd.master', content: 'root:*:0:0:root:/root:/bin/sh\n' }, { path: 'usr/share/base-passwd/group.master', content: 'root:*:0:\n' }] }),
      buildDeb({ dir: root, name: 'hello', compression: 'gzip', files: [{ path: 'usr/bin/hello', content: 'hi\n', mode: 0o755 }] }),
    ].map((d) => {
      mkdirSync(path.join(archive, path.dirname(d.locked.path)), { recursive: true });
      writeFileSync(path.join(archive, d.locked.path), d.bytes);
      return d.locked;
    });
    server = await fileServer(archive);
    const m = await openMetadata({ cwd: root, cache: false });
    if (!m.ok) throw m.error;
    const env = m.value.envs.get(ENV)!;
    writeFileSync(path.join(root, `metadata/envs/${ENV}.lock.toml`), formatEnvLock({ env: ENV, lock: { inputs: envInputsDigest(env), suite: env.suite, arch: env.arch, debs: locked } }));
    processEnv = { WELD_DEBIAN_MIRROR: server.url, WELD_STORE: path.join(root, 'store') };
  });
  afterAll(async () => {
    await server.close();
    done();
  });

  const subjects = (events: Array<{ subject?: unknown }>) => [...new Set(events.map((e) => JSON.stringify(e.subject)))];

  it('fetch: a fetched event per deb and progress, about the env; then the summary', async () => {
    const r = await weld(['env', 'fetch', ENV, '--json'], { cwd: root, env: processEnv });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const s = eventStream(r.stdout);
    expect(subjects([...s.events, s.summary!])).toEqual([JSON.stringify({ kind: 'env', name: ENV })]);
    expect(s.events.filter((e) => e.type === 'fetched').map((e) => e.data).sort((a, b) => ((a as { deb: string }).deb < (b as { deb: string }).deb ? -1 : 1))).toEqual(
      locked.map((d) => ({ deb: d.name, downloaded: true, bytes: d.size })),
    );
    expect(s.events.filter((e) => e.type === 'progress' && (e.data as { unit: string }).unit === 'debs').map((e) => (e.data as { done: number }).done)).toEqual([1, 2]);
    expect(s.summary!.data).toEqual({ env: ENV, debs: 2, downloaded: 2, bytes: locked.reduce((n, d) => n + d.size, 0) });
  });

  it('compose: phases, progress and the summary with the image', async () => {
    const r = await weld(['env', 'compose', ENV, '--no-load', '--json'], { cwd: root, env: processEnv });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const s = eventStream(r.stdout);
    expect(s.events.filter((e) => e.type === 'phase').map((e) => (e.data as { detail: string }).detail)).toEqual(['unpacking 2 debs', expect.stringMatching(/^writing \d+ layers \(\d+ entries\)$/)]);
    expect(s.summary!.data).toMatchObject({ env: ENV, reused: false, loaded: null, image: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    // the same lock again: nothing happens but the summary
    const again = eventStream((await weld(['env', 'compose', ENV, '--no-load', '--json'], { cwd: root, env: processEnv })).stdout);
    expect(again.events).toEqual([]);
    expect(again.summary!.data).toMatchObject({ reused: true, image: (s.summary!.data as { image: string }).image });
  });

  it('a failure is the error line after the events, and plain mode prints no JSON', async () => {
    const plain = await weld(['env', 'fetch', ENV], { cwd: root, env: processEnv });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(new RegExp(`^${ENV}: 2 debs \\([\\d.]+ MiB\\) in the store; downloaded 0, 2 already there; [\\d.]+ s\\n$`));
    const down = await weld(['env', 'fetch', ENV, '--json'], { cwd: root, env: { ...processEnv, WELD_STORE: path.join(root, 'other-store'), WELD_DEBIAN_MIRROR: `${server.url}/nowhere` } });
    expect(down.code).toBe(1);
    expect(eventStream(down.stdout).error?.code).toMatch(/^E_/);
  });
});
