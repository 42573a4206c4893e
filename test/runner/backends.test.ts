import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendPool } from '../../src/runner/backends/pool.js';
import { PoolRunner } from '../../src/runner/backends/pool-runner.js';
import type { BackendConfig } from '../../src/runner/backends/config.js';
import { PodmanBuildRunner } from '../../src/runner/podman.js';
import type { Placement, RunSpec } from '../../src/runner/runner.js';
import { hostArch } from '../../src/podman/arch.js';
import { Podman } from '../../src/podman/podman.js';
import { hostContainersConf, podmanService, tinyProject, type PodmanService, type TinyProject } from '../helpers/podman-services.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { tempDir } from '../helpers/store-temp.js';
import { runnerContract } from './contract.js';

// Two real podman engines (`podman system service` on two sockets, separate storage) and
// weld's pool in front of them. Everything these tests start, they remove.

let dir: string;
let cleanup: () => Promise<void>;
let project: TinyProject;
let env: NodeJS.ProcessEnv;
let a: PodmanService;
let b: PodmanService;

const arch = hostArch();
const backend = (s: PodmanService, extra: Partial<BackendConfig> = {}): BackendConfig => ({ name: s.name, url: s.url, arch, labels: {}, maxJobs: 2, ...extra });

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('weld-backends-'));
  project = await tinyProject(dir);
  env = hostContainersConf(project.root);
  [a, b] = await Promise.all([podmanService({ dir, name: 'a', env }), podmanService({ dir, name: 'b', env })]);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await cleanup();
}, 120_000);

const context = () => ({ metadata: project.metadata, store: project.store, env });

/** One run of `script` through `runner`, in fresh src/out dirs. */
async function runScript(runner: PoolRunner | PodmanBuildRunner, script: string, extra: Partial<RunSpec> = {}) {
  const work = mkdtempSync(path.join(dir, 'run-'));
  const [src, out, recipes] = ['src', 'out', 'recipe'].map((d) => path.join(work, d)) as [string, string, string];
  for (const d of [src, out, recipes]) mkdirSync(d);
  writeFileSync(path.join(src, 'hello.txt'), 'hello\n');
  mkdirSync(path.join(src, 'pkg'));
  writeFileSync(path.join(src, 'pkg/mod.py'), 'x = 1\n');
  const recipe = path.join(recipes, 'build.sh');
  writeFileSync(recipe, script);
  const lines: string[] = [];
  const placed: Placement[] = [];
  const result = await runner.run({
    envName: project.env,
    recipe,
    srcDir: src,
    outDir: out,
    depDirs: [],
    env: { WELD_PACKAGE: 'demo', WELD_VERSION: '1.0', SOURCE_DATE_EPOCH: '1700000000' },
    jobs: 1,
    onLog: (l) => lines.push(l),
    onPlaced: (p) => placed.push(p),
    ...extra,
  });
  return { result, lines, placed, out };
}

describe('backends: one engine behind the pool keeps the runner contract', () => {
  runnerContract({
    name: 'podman backend pool',
    make: () => new PoolRunner({ pool: new BackendPool({ backends: [backend(a!)] }), context: context() }),
    envName: 'tiny',
    depsSeenAs: (dirs) => dirs.map((_, i) => `/weld/deps/${i}`),
    hostPids: false,
  });
});

// prints what the container saw and writes an output whose bytes depend on all of it
const PROBE = 'set -e\nmkdir -p "$WELD_OUT/wheels" "$WELD_OUT/prefix/lib"\n' +
  'cd "$WELD_SRC" && ls -ldn --time-style=+%s . > "$WELD_OUT/prefix/listing" && ls -lRn --time-style=+%s . >> "$WELD_OUT/prefix/listing"\n' +
  'sha256sum hello.txt pkg/mod.py > "$WELD_OUT/prefix/sums"\n' +
  'echo "$WELD_PACKAGE $WELD_VERSION $SOURCE_DATE_EPOCH $WELD_JOBS $WELD_SRC $WELD_OUT $PWD $HOME" > "$WELD_OUT/wheels/demo-1.0-py3-none-any.whl"\n' +
  'echo probe-done\n';

function digests(out: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const n of readdirSync(path.join(out, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${n.name}` : n.name;
      if (n.isDirectory()) walk(p);
      else files[p] = createHash('sha256').update(readFileSync(path.join(out, p))).digest('hex');
    }
  };
  walk('');
  return files;
}

describe('backends: two podman engines', () => {
  it('builds the same bytes on a backend as on this host\'s podman', async () => {
    const local = new PodmanBuildRunner(context());
    const remote = new PoolRunner({ pool: new BackendPool({ backends: [backend(b)] }), context: context() });
    // one source tree for both, so its mtimes are the same ones
    const shared = await runScript(local, 'true\n');
    const srcDir = path.join(path.dirname(shared.out), 'src');
    const l = await runScript(local, PROBE, { srcDir });
    const r = await runScript(remote, PROBE, { srcDir });
    try {
      expect(l.result.ok && r.result.ok).toBe(true);
      expect(r.lines).toEqual(['probe-done']);
      expect(r.placed).toEqual([{ backend: 'b', attempt: 1 }]);
      const ld = digests(l.out);
      expect(Object.keys(ld).sort()).toEqual(['prefix/listing', 'prefix/sums', 'wheels/demo-1.0-py3-none-any.whl']);
      expect(readFileSync(path.join(r.out, 'prefix/listing'), 'utf8')).toBe(readFileSync(path.join(l.out, 'prefix/listing'), 'utf8'));
      expect(digests(r.out)).toEqual(ld);
      expect(await local.info({ env: 'tiny' })).toEqual(await remote.info({ env: 'tiny' }));
    } finally {
      // the local run loaded the tiny image into this host's podman: take it out again
      const p = Podman.open({ root: project.root, arch });
      if (p.ok) await p.value.exec({ args: ['rmi', '--force', project.image.tag] });
    }
  }, 120_000);

  it('drives an engine over tcp:// as over a unix socket: the same bytes', async () => {
    const c = await podmanService({ dir, name: 'c', env, tcp: true });
    try {
      expect(c.url).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      const overSocket = new PoolRunner({ pool: new BackendPool({ backends: [backend(b)] }), context: context() });
      const overTcp = new PoolRunner({ pool: new BackendPool({ backends: [backend(c)] }), context: context() });
      const first = await runScript(overSocket, PROBE);
      const srcDir = path.join(path.dirname(first.out), 'src');
      const t = await runScript(overTcp, PROBE, { srcDir });
      expect(first.result.ok, JSON.stringify(first.result)).toBe(true);
      expect(t.result.ok, JSON.stringify(t.result)).toBe(true);
      expect(t.lines).toEqual(['probe-done']);
      expect(t.placed).toEqual([{ backend: 'c', attempt: 1 }]);
      expect(digests(t.out)).toEqual(digests(first.out));
      // the build ran on that engine: its container is gone again, the env image is there
      expect(c.containers()).toEqual([]);
    } finally {
      await c.stop();
    }
  }, 120_000);

  it('spreads builds over both engines by load, and honours a label selector', async () => {
    const pool = new BackendPool({ backends: [backend(a, { labels: { size: 'small' } }), backend(b, { labels: { size: 'big' } })] });
    const runner = new PoolRunner({ pool, context: context() });
    const peak = { a: 0, b: 0 };
    const timer = setInterval(() => {
      for (const s of pool.list()) peak[s.name as 'a' | 'b'] = Math.max(peak[s.name as 'a' | 'b'], s.active);
    }, 50);
    const runs = await Promise.all([1, 2, 3, 4].map(() => runScript(runner, 'sleep 1\necho ok\n')));
    clearInterval(timer);
    expect(runs.map((r) => r.result.ok)).toEqual([true, true, true, true]);
    const where = runs.map((r) => r.placed[0]!.backend).sort();
    expect(where).toEqual(['a', 'a', 'b', 'b']);
    expect(peak).toEqual({ a: 2, b: 2 });
    const big = await Promise.all([1, 2, 3].map(() => runScript(runner, 'echo ok\n', { labels: { size: 'big' } })));
    expect(big.map((r) => r.placed.map((p) => p.backend))).toEqual([['b'], ['b'], ['b']]);
    const none = await runScript(runner, 'echo ok\n', { labels: { size: 'huge' } });
    expect(none.result.ok).toBe(false);
    if (!none.result.ok) expect(none.result.error.reason).toBe(`no backend builds ${arch} with size=huge; the backends are: a (${arch}, size=small); b (${arch}, size=big) (add one (\`weld backends add\`), or change the --backend-selector, the job's selector or the package's [build] labels)`);
    expect(pool.list().map((s) => [s.name, s.active, s.failures, s.healthy])).toEqual([['a', 0, 0, true], ['b', 0, 0, true]]);
  }, 120_000);

  it('warns before builds start when no backend builds the env\'s arch, and fails such a build saying why', async () => {
    const other = arch === 's390x' ? 'amd64' : 's390x';
    const runner = new PoolRunner({ pool: new BackendPool({ backends: [backend(a, { arch: other })] }), context: context() });
    const info = await runner.info({ env: 'tiny' });
    expect(info.warnings).toEqual([`no build backend builds ${arch} (env "tiny"): its builds will fail; see \`weld backends ls\``]);
    const r = await runScript(runner, 'echo never\n');
    expect(r.result.ok).toBe(false);
    if (!r.result.ok) expect(r.result.error.reason).toMatch(new RegExp(`^no backend builds ${arch}; the backends are: a \\(${other}\\)`));
    expect(r.placed).toEqual([]);
  });

  it('a recipe failure is the recipe\'s: not retried, the backend stays healthy', async () => {
    const pool = new BackendPool({ backends: [backend(a), backend(b)] });
    const r = await runScript(new PoolRunner({ pool, context: context() }), 'echo before\nexit 3\n');
    expect(r.result.ok).toBe(false);
    if (!r.result.ok) expect([r.result.error.failure, r.result.error.exitCode, r.result.error.reason]).toEqual(['exit', 3, 'the recipe exited with status 3']);
    expect(r.placed).toHaveLength(1);
    expect(r.lines).toEqual(['before']);
    expect(pool.list().every((s) => s.failures === 0)).toBe(true);
  }, 60_000);

  it('retries a build whose engine dies mid-build on the other, skips the dead one, and uses it again once it is back', async () => {
    // the pool's clock, moved on by hand past the skip (the default 30 s) instead of sleeping through it
    let later = 0;
    const pool = new BackendPool({ backends: [backend(a, { maxJobs: 1 }), backend(b, { maxJobs: 1 })], now: () => Date.now() + later });
    const runner = new PoolRunner({ pool, context: context() });
    const script = 'echo started\nsleep 3\nmkdir -p "$WELD_OUT/wheels"\necho "built" > "$WELD_OUT/wheels/x.whl"\necho finished\n';
    const pending = runScript(runner, script);
    // kill a as soon as its build is running
    for (let i = 0; i < 200 && !pool.list().find((s) => s.name === 'a' && s.active === 1); i++) await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 200 && a.containers().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1500));
    await a.kill();
    const first = await pending;
    expect(first.result.ok).toBe(true);
    expect(first.placed.map((p) => p.backend)).toEqual(['a', 'b']);
    expect(first.placed[1]!.retryOf?.backend).toBe('a');
    expect(readFileSync(path.join(first.out, 'wheels/x.whl'), 'utf8')).toBe('built\n');
    expect(first.lines.filter((l) => l === 'finished')).toHaveLength(1);
    expect(first.lines.some((l) => l.startsWith('weld: backend a lost: '))).toBe(true);

    // a is down: each build tries it (it looks least loaded), loses it at once, goes to b; the third loss skips it
    for (let i = 0; i < 2; i++) {
      const r = await runScript(runner, 'echo quick\n');
      expect(r.result.ok).toBe(true);
      expect(r.placed.map((p) => p.backend)).toEqual(['a', 'b']);
    }
    const down = pool.list().find((s) => s.name === 'a')!;
    expect([down.healthy, down.failures]).toEqual([false, 3]);
    expect(down.skippedUntil).not.toBeNull();
    const skipped = await runScript(runner, 'echo quick\n');
    expect(skipped.placed.map((p) => p.backend)).toEqual(['b']);

    await a.start();
    expect(pool.list().find((s) => s.name === 'a')!.healthy).toBe(false);
    later += 30_000;
    expect(pool.list().find((s) => s.name === 'a')!.healthy).toBe(true);
    const back = await runScript(runner, 'echo again\n');
    expect(back.result.ok).toBe(true);
    expect(back.placed.map((p) => p.backend)).toEqual(['a']);
    expect(pool.list().find((s) => s.name === 'a')!.failures).toBe(0);
    // the container the lost build left running on a was removed when a came back
    expect(a.containers()).toEqual([]);
    expect(b.containers()).toEqual([]);
  }, 180_000);
  it('copies back at most the output limit: more is the recipe\'s failure, not retried, and nothing of it is kept', async () => {
    const pool = new BackendPool({ backends: [backend(a), backend(b)] });
    const runner = new PoolRunner({ pool, context: context(), maxOutputBytes: 1 << 20 });
    const big = await runScript(runner, 'mkdir -p "$WELD_OUT/wheels"\nhead -c 4194304 /dev/zero > "$WELD_OUT/wheels/big.whl"\necho wrote\n');
    expect(big.result.ok).toBe(false);
    if (!big.result.ok) expect([big.result.error.failure, big.result.error.reason]).toEqual(['exit', 'the outputs are more than 1048576 bytes, the most weld copies back from a backend; nothing of them is kept']);
    expect(big.placed).toHaveLength(1);
    expect(readdirSync(big.out)).toEqual([]);
    expect(pool.list().every((s) => s.failures === 0)).toBe(true);
    const small = await runScript(runner, 'mkdir -p "$WELD_OUT/wheels"\nhead -c 1000 /dev/zero > "$WELD_OUT/wheels/small.whl"\n');
    expect(small.result.ok).toBe(true);
    expect(readdirSync(path.join(small.out, 'wheels'))).toEqual(['small.whl']);
  }, 120_000);

  it('gives up on an engine that stops answering mid-build (frozen, its connections open) and builds on the other', async () => {
    const pool = new BackendPool({ backends: [backend(a, { maxJobs: 1 }), backend(b, { maxJobs: 1 })] });
    // asked every half second, 3 s to answer: two silences and the engine is lost (the default: every 15 s, 10 s, three)
    const runner = new PoolRunner({ pool, context: context(), heartbeat: { everyMs: 500, timeoutMs: 3000, misses: 2 } });
    const script = 'echo started\nsleep 4\nmkdir -p "$WELD_OUT/wheels"\necho "built" > "$WELD_OUT/wheels/x.whl"\necho finished\n';
    const pending = runScript(runner, script);
    for (let i = 0; i < 200 && a.containers().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1000));
    a.freeze();
    try {
      const r = await pending;
      expect(r.result.ok, JSON.stringify(r.result)).toBe(true);
      expect(r.placed.map((p) => p.backend)).toEqual(['a', 'b']);
      expect(r.lines.find((l) => l.startsWith('weld: backend a lost: '))).toMatch(/^weld: backend a lost: the engine stopped answering during the build: 2 health checks in a row got no answer within 3 s/);
      expect(readFileSync(path.join(r.out, 'wheels/x.whl'), 'utf8')).toBe('built\n');
      expect(pool.list().find((s) => s.name === 'a')!.failures).toBe(1);
    } finally {
      a.thaw();
    }
    // back: the next build there first removes the container the lost one left
    const again = await runScript(runner, 'echo again\n', { labels: {} });
    expect(again.result.ok).toBe(true);
    expect(again.placed.map((p) => p.backend)).toEqual(['a']);
    for (let i = 0; i < 100 && a.containers().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(a.containers()).toEqual([]);
  }, 120_000);
});

describe('backends: an engine over ssh://, through a real sshd', () => {
  // the engine b, reached through an sshd of the test's own (127.0.0.1, key login, stream-local forwarding only)
  let sshd: Sshd;
  beforeAll(async () => {
    sshd = await startSshd({ dir });
  }, 60_000);
  afterAll(async () => {
    await sshd?.stop();
  }, 60_000);

  const socket = () => b.url.replace(/^unix:\/\//, '');
  const overSsh = (extra: Partial<BackendConfig> = {}): BackendConfig => ({ name: 'bssh', url: sshd.url(socket()), arch, labels: {}, maxJobs: 2, identity: sshd.identity, ...extra });

  it('builds the same bytes on an ssh:// backend as on a unix one', async () => {
    const sshEnv = { ...env, HOME: sshd.home };
    const overSocket = new PoolRunner({ pool: new BackendPool({ backends: [backend(b)] }), context: context() });
    const ssh = new PoolRunner({ pool: new BackendPool({ backends: [overSsh()] }), context: { ...context(), env: sshEnv } });
    const first = await runScript(overSocket, PROBE);
    const srcDir = path.join(path.dirname(first.out), 'src');
    const before = sshd.log().split('Accepted publickey for root').length;
    const t0 = performance.now();
    const s = await runScript(ssh, PROBE, { srcDir });
    const ms = performance.now() - t0;
    expect(first.result.ok, JSON.stringify(first.result)).toBe(true);
    expect(s.result.ok, JSON.stringify(s.result)).toBe(true);
    expect(s.lines).toEqual(['probe-done']);
    expect(s.placed).toEqual([{ backend: 'bssh', attempt: 1 }]);
    expect(digests(s.out)).toEqual(digests(first.out));
    expect(readFileSync(path.join(s.out, 'prefix/listing'), 'utf8')).toBe(readFileSync(path.join(first.out, 'prefix/listing'), 'utf8'));
    // it went through the sshd, logged in with the key (one login per podman command: create, cp, start, wait, cp, rm…)
    expect(sshd.log().split('Accepted publickey for root').length - before).toBeGreaterThanOrEqual(4);
    expect(b.containers()).toEqual([]);
    // podman was never let write known_hosts (it does, given a host it has no line for)
    expect(readFileSync(path.join(sshd.home, '.ssh/known_hosts'), 'utf8')).toBe(`[127.0.0.1]:${sshd.port} ${sshd.hostKey}\n`);
    expect(ms).toBeLessThan(60_000);
  }, 120_000);

  it('a host known_hosts has no line for is not used (podman would take any key): the build goes to another backend, saying why', async () => {
    const home = sshd.makeHome('empty', []);
    const pool = new BackendPool({ backends: [overSsh({ name: 'a-ssh', maxJobs: 1 }), backend(b, { maxJobs: 1 })] });
    const runner = new PoolRunner({ pool, context: { ...context(), env: { ...env, HOME: home } } });
    const before = sshd.log().length;
    const r = await runScript(runner, 'echo built-here\n');
    expect(r.result.ok, JSON.stringify(r.result)).toBe(true);
    expect(r.placed.map((p) => p.backend)).toEqual(['a-ssh', 'b']);
    expect(r.lines).toEqual([
      `weld: backend a-ssh lost: the host key of [127.0.0.1]:${sshd.port} is not in ${home}/.ssh/known_hosts: podman would take any key the host shows, so weld does not connect (add the host's key after checking its fingerprint against the host's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub there), e.g. \`ssh-keyscan -p ${sshd.port} 127.0.0.1 >> ${home}/.ssh/known_hosts\`); retrying on another backend (attempt 2 of 3)`,
      'built-here',
    ]);
    expect(pool.list().find((s) => s.name === 'a-ssh')!.failures).toBe(1);
    // no connection was made, and nothing was written to known_hosts
    expect(sshd.log().slice(before)).not.toContain('Accepted');
    expect(readFileSync(path.join(home, '.ssh/known_hosts'), 'utf8')).toBe('');
  }, 60_000);
});
