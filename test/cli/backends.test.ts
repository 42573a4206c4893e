import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostArch } from '../../src/podman/arch.js';
import { buildProject, type BuildProject } from '../helpers/build-project.js';
import { eventStream, type EventStream } from '../helpers/event-lines.js';
import { hostContainersConf, installTinyEnv, podmanService, type PodmanService } from '../helpers/podman-services.js';
import { weld } from '../helpers/project.js';
import { tempDir } from '../helpers/store-temp.js';

// `weld backends` and `weld build` on two real podman engines (podman system service on
// two sockets), with a real project whose packages build in a tiny host-arch env.

const arch = hostArch();
const of = (s: EventStream, type: string) => s.events.filter((e) => e.type === type);
const SLEEPY = 'echo "building $WELD_PACKAGE"\nsleep 1\nmkdir -p "$WELD_OUT/wheels"\necho "$WELD_PACKAGE" > "$WELD_OUT/wheels/$WELD_PACKAGE-1.0-py3-none-any.whl"\n';

let dir: string;
let cleanup: () => Promise<void>;
let project: BuildProject;
let podmanEnv: NodeJS.ProcessEnv;
let a: PodmanService;
let b: PodmanService;
let file: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('weld-cli-backends-'));
  project = await buildProject({ packages: ['p1', 'p2', 'p3', 'p4'].map((name) => ({ name, recipe: 'sleepy', files: { 'README': `${name}\n` } })), recipes: { sleepy: SLEEPY } });
  await installTinyEnv({ root: project.root, dir, distro: '\n[sources]\nallow_paths = ["../releases"]\n' });
  podmanEnv = hostContainersConf(project.root);
  [a, b] = await Promise.all([podmanService({ dir, name: 'a', env: podmanEnv }), podmanService({ dir, name: 'b', env: podmanEnv })]);
  file = path.join(dir, 'config/weld/backends.toml');
  env = { PATH: process.env['PATH'], XDG_CONFIG_HOME: path.join(dir, 'config'), WELD_STORE: path.join(project.root, 'store'), HOME: dir };
}, 180_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  project?.cleanup();
  await cleanup();
}, 120_000);

describe('weld backends', () => {
  it('adds, lists, checks and removes backends in the file under XDG_CONFIG_HOME', async () => {
    const cwd = project.root;
    expect((await weld(['backends', 'ls'], { cwd, env })).stdout).toBe(`no backends in ${file}: builds run on this host's podman\n`);
    const addA = await weld(['backends', 'add', 'a', '--url', a.url, '--arch', arch, '--label', 'size=small', '--max-jobs', '2'], { cwd, env });
    expect([addA.code, addA.stdout]).toEqual([0, `added backend a (${a.url}, ${arch}, max 2 at once) in ${file}\n`]);
    expect((await weld(['backends', 'add', 'b', '--url', b.url, '--arch', arch, '--label', 'size=big', '--max-jobs', '2'], { cwd, env })).code).toBe(0);
    const again = await weld(['backends', 'add', 'a', '--url', a.url, '--arch', arch], { cwd, env });
    expect([again.code, again.stderr]).toEqual([2, `weld: error: weld backends add: ${file} already has a backend "a"\nweld: hint: pass --replace to replace it, or pick another name\n`]);
    const bad = await weld(['backends', 'add', 'c', '--url', 'tcp://-oProxyCommand=x:1', '--arch', 'x86', '--max-jobs', 'lots'], { cwd, env });
    expect([bad.code, bad.stderr]).toEqual([2, 'weld: error: weld backends add: backend url "tcp://-oProxyCommand=x:1": "-oProxyCommand=x" is not a host name or IP address; arch must be one of s390x, amd64, arm64, ppc64el (Debian names), not "x86"; max_jobs must be a whole number from 1 to 256\n']);
    const ls = await weld(['backends', 'ls'], { cwd, env });
    expect(ls.stdout).toBe(`NAME  URL${' '.repeat(a.url.length - 3)}  ARCH${' '.repeat(Math.max(0, arch.length - 4))}  MAX_JOBS  LABELS\na     ${a.url}  ${arch.padEnd(4)}  2         size=small\nb     ${b.url}  ${arch.padEnd(4)}  2         size=big\n`);
    const check = await weld(['backends', 'check', '--json'], { cwd, env });
    expect(check.code).toBe(0);
    const rows = (JSON.parse(check.stdout) as { backends: Array<{ name: string; ok: boolean; mode: string; engineArch: string; version: string }> }).backends;
    expect(rows.map((r) => [r.name, r.ok, r.mode, r.engineArch])).toEqual([['a', true, 'native', arch], ['b', true, 'native', arch]]);
    expect(rows[0]!.version).toMatch(/^\d+\.\d+/);
    // one that does not answer: said, and the exit status says so
    expect((await weld(['backends', 'add', 'gone', '--url', `unix://${dir}/nothing.sock`, '--arch', arch], { cwd, env })).code).toBe(0);
    const down = await weld(['backends', 'check', 'gone'], { cwd, env });
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/^NAME +STATE +PODMAN +ENGINE +BUILDS +MS\ngone +down: .*nothing\.sock/);
    expect(down.stderr).toContain('weld: error: backend gone did not answer');
    const rm = await weld(['backends', 'rm', 'gone'], { cwd, env });
    expect([rm.code, rm.stdout]).toEqual([0, `removed backend gone from ${file}\n`]);
    expect((await weld(['backends', 'rm', 'gone'], { cwd, env })).code).toBe(2);
    expect(readFileSync(file, 'utf8')).not.toContain('gone');
  }, 60_000);

  it('weld build spreads builds over the backends, honours --backend-selector and [build] labels, and says where each went', async () => {
    const cwd = project.root;
    const built = await weld(['build', '--all', '--json', '--jobs', '4'], { cwd, env });
    expect(built.code, built.stdout + built.stderr).toBe(0);
    const events = eventStream(built.stdout);
    const placed = of(events, 'placed').map((e) => [e.subject!.name, (e.data as { backend: string }).backend]);
    expect(placed.map(([, where]) => where).sort()).toEqual(['a', 'a', 'b', 'b']);
    expect(of(events, 'done')).toHaveLength(4);

    const pkg = path.join(project.root, 'metadata/packages/p1.toml');
    writeFileSync(pkg, readFileSync(pkg, 'utf8').replace('[build]\n', '[build]\nlabels = { size = "small" }\n'));
    const rebuilt = await weld(['build', '--all', '--check', '--json', '--jobs', '4', '--backend-selector', 'size=big'], { cwd, env });
    // p1 wants size=small and the selector size=big: p1 cannot be placed; the others all go to b and match their records
    const ev = eventStream(rebuilt.stdout);
    expect(of(ev, 'placed').map((e) => (e.data as { backend: string }).backend)).toEqual(['b', 'b', 'b']);
    const failed = of(ev, 'failed');
    expect(failed.map((e) => [e.subject!.name, (e.data as { error: { message: string } }).error.message])).toEqual([['p1', "the backend selector asks for size=big, but the package's [build] labels say size=small; no backend can be both"]]);
    expect(of(ev, 'done').every((e) => (e.data as { check?: { match: boolean } }).check?.match === true)).toBe(true);

    const small = await weld(['build', 'p1', '--check', '--json'], { cwd, env });
    expect(of(eventStream(small.stdout), 'placed').map((e) => (e.data as { backend: string }).backend)).toEqual(['a']);
    const plain = await weld(['build', 'p2', '--check'], { cwd, env });
    expect(plain.stdout).toMatch(/^p2: build on backend [ab]$/m);
  }, 240_000);

  it('refuses a selector when no backends are configured', async () => {
    const r = await weld(['build', 'p1', '--backend-selector', 'size=big'], { cwd: project.root, env: { ...env, XDG_CONFIG_HOME: path.join(dir, 'empty') } });
    expect([r.code, r.stderr]).toEqual([2, `weld: error: --backend-selector picks among build backends, and ${path.join(dir, 'empty/weld/backends.toml')} configures none\nweld: hint: add backends with \`weld backends add\`, or drop --backend-selector to build on this host\n`]);
  });
});
