import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { composeEnv, type ComposedImage } from '../../src/envs/compose.js';
import { envInputsDigest } from '../../src/envs/inputs.js';
import { formatEnvLock } from '../../src/envs/lock-file.js';
import { formatDiagnostic } from '../../src/core/diagnostics.js';
import { MetadataInvalidError } from '../../src/core/errors.js';
import { openMetadata } from '../../src/metadata/open.js';
import type { Metadata } from '../../src/metadata/model.js';
import type { Arch } from '../../src/metadata/names.js';
import { Podman } from '../../src/podman/podman.js';
import { hostArch } from '../../src/podman/arch.js';
import type { Store } from '../../src/store/store.js';
import { buildDeb, type DebFile } from './debs.js';
import { freePort } from './registry.js';
import { freshStore } from './store-temp.js';

// Real podman engines for the backend tests: `podman system service` on a unix socket,
// each with its own storage (--root/--runroot/--tmpdir), so two services are two
// independent engines, as two hosts would be (an image loaded into one is not in the
// other; killing one leaves the other's containers alone). The env they build in is a
// real env image composed by weld from a real .deb of this host's own shell and
// coreutils: host arch, no qemu, a few MB, so the tests stay fast.

const TOOLS = ['/bin/dash', '/bin/sleep', '/bin/cat', '/bin/mkdir', '/bin/ls', '/bin/rm', '/usr/bin/sha256sum', '/usr/bin/head', '/bin/date'];

/** The tools' files and the shared libraries they load, as deb entries (`/bin/sh` is dash). */
function toolFiles(): DebFile[] {
  const files = new Map<string, DebFile>();
  const add = (src: string, dest: string) => files.set(dest, { path: dest.slice(1), content: readFileSync(src), mode: 0o755 });
  for (const t of TOOLS) {
    add(t, t === '/bin/dash' ? '/bin/sh' : t);
    const ldd = spawnSync('ldd', [t], { encoding: 'utf8' }).stdout;
    for (const m of ldd.matchAll(/(?:=> )?(\/\S+) \(0x/g)) add(realpathSync(m[1]!), m[1]!);
  }
  return [...files.values()];
}

export interface TinyProject {
  root: string;
  metadata: Metadata;
  store: Store;
  image: ComposedImage;
  env: string;
}

/**
 * Writes env "tiny" (host arch, one .deb of this host's shell and coreutils) with its lock
 * into the project at `root`, makes it the distro's default env, and composes its image into
 * the store at `<root>/store`.
 */
export async function installTinyEnv(opts: { root: string; dir: string; distro?: string }): Promise<{ store: Store; image: ComposedImage }> {
  const { root } = opts;
  const arch = hostArch() as Arch;
  // the only env: others (a copied sample's s390x ones) would not match the host-arch distro
  rmSync(path.join(root, 'metadata/envs'), { recursive: true, force: true });
  mkdirSync(path.join(root, 'metadata/envs'), { recursive: true });
  mkdirSync(path.join(root, 'metadata/packages'), { recursive: true });
  writeFileSync(path.join(root, 'metadata/weld.toml'), `[distro]\nname = "t"\narch = "${arch}"\nenv = "tiny"\n${opts.distro ?? ''}`);
  const base = { kind: 'builder' as const, arch, suite: 'bookworm', components: ['main'], packages: ['weld-tiny'] };
  writeFileSync(path.join(root, 'metadata/envs/tiny.toml'), `[env]\nkind = "builder"\narch = "${arch}"\nsuite = "bookworm"\ncomponents = ["main"]\npackages = ["weld-tiny"]\n`);
  const deb = buildDeb({ dir: opts.dir, name: 'weld-tiny', arch, files: [...toolFiles(), { path: 'usr/share/base-passwd/passwd.master', content: 'root:*:0:0:root:/root:/bin/sh\n' }, { path: 'usr/share/base-passwd/group.master', content: 'root:*:0:\n' }] });
  const lock = { inputs: envInputsDigest(base), suite: 'bookworm', arch, debs: [deb.locked] };
  writeFileSync(path.join(root, 'metadata/envs/tiny.lock.toml'), formatEnvLock({ env: 'tiny', lock }));
  const store = await freshStore(root);
  const put = await store.put([deb.bytes]);
  if (!put.ok) throw put.error;
  const m = await openMetadata({ cwd: root, cache: false });
  if (!m.ok) throw new Error(`${m.error.message}: ${m.error instanceof MetadataInvalidError ? m.error.diagnostics.map((d) => formatDiagnostic(d)).join('\n') : ''}`);
  const image = await composeEnv({ env: m.value.envs.get('tiny')!, store });
  if (!image.ok) throw image.error;
  return { store, image: image.value };
}

/** A project with no packages whose one env is "tiny", composed into its store. */
export async function tinyProject(dir: string): Promise<TinyProject> {
  const root = path.join(dir, 'project');
  const { store, image } = await installTinyEnv({ root, dir });
  const m = await openMetadata({ cwd: root, cache: false });
  if (!m.ok) throw m.error;
  return { root, metadata: m.value, store, image, env: 'tiny' };
}

export interface PodmanService {
  name: string;
  url: string;
  /** SIGKILL, as a host that goes away (its containers keep running under conmon) */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP, as a host that stops answering without closing its connections; thaw() is SIGCONT */
  freeze(): void;
  thaw(): void;
  /** containers on its engine, by name */
  containers(): string[];
  stop(): Promise<void>;
}

/** The containers.conf this host needs (the one weld writes for its own podman), for the services to run with. */
export function hostContainersConf(root: string): NodeJS.ProcessEnv {
  const p = Podman.open({ root, arch: hostArch() });
  if (!p.ok) throw p.error;
  return p.value.env;
}

/** `tcp`: the service listens on tcp://127.0.0.1:<free port> (a remote host's engine as `podman --url tcp://…` reaches it), else on a unix socket. */
export async function podmanService(opts: { dir: string; name: string; env: NodeJS.ProcessEnv; tcp?: boolean }): Promise<PodmanService> {
  const base = path.join(opts.dir, `engine-${opts.name}`);
  const sock = path.join(base, 'podman.sock');
  const storage = ['--root', path.join(base, 'root'), '--runroot', path.join(base, 'run'), '--tmpdir', path.join(base, 'tmp')];
  mkdirSync(base, { recursive: true });
  const url = opts.tcp ? `tcp://127.0.0.1:${await freePort()}` : `unix://${sock}`;
  let child: ChildProcess | undefined;
  const ready = async () => {
    for (let i = 0; i < 300; i++) {
      const r = spawnSync('podman', ['--url', url, 'version', '--format', '{{.Server.Version}}'], { env: opts.env, encoding: 'utf8', timeout: 10_000 });
      if (r.status === 0) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`podman service ${opts.name} did not come up at ${url}`);
  };
  const service = {
    name: opts.name,
    url,
    async start() {
      rmSync(sock, { force: true });
      child = spawn('podman', [...storage, 'system', 'service', '--time=0', url], { env: opts.env, stdio: 'ignore' });
      await ready();
    },
    async kill() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await gone;
    },
    freeze() {
      child?.kill('SIGSTOP');
    },
    thaw() {
      child?.kill('SIGCONT');
    },
    containers() {
      const r = spawnSync('podman', [...storage, 'ps', '-a', '--format', '{{.Names}}'], { env: opts.env, encoding: 'utf8' });
      return r.stdout.split('\n').filter(Boolean);
    },
    async stop() {
      await service.kill();
      // without the service: every container and image of this engine, then its storage
      spawnSync('podman', [...storage, 'rm', '--all', '--force', '--time', '0'], { env: opts.env, stdio: 'ignore' });
      // not `system reset`: as root it also clears host-wide state (networks) beyond this storage
      spawnSync('podman', [...storage, 'rmi', '--all', '--force'], { env: opts.env, stdio: 'ignore' });
      try {
        execFileSync('sh', ['-c', `grep -o ' ${base}[^ ]*' /proc/mounts | xargs -r -n1 umount -l`], { stdio: 'ignore' });
      } catch {
        /* nothing mounted */
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
  await service.start();
  return service;
}
