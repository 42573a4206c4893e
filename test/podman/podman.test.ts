import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideContainersConf } from '../../src/podman/containers-conf.js';
import { checkHost } from '../../src/podman/doctor.js';
import { detectHost, type HostFacts } from '../../src/podman/host.js';
import { Podman } from '../../src/podman/podman.js';
import { tempDir } from '../helpers/store-temp.js';

// A host like the CI machines of ENVIRONMENT.md: root, cgroups v1/hybrid, no CAP_SYS_RESOURCE.
const ci: HostFacts = {
  arch: 'amd64',
  target: 's390x',
  root: true,
  podman: '/usr/bin/podman',
  runc: '/usr/sbin/runc',
  crun: '/usr/bin/crun',
  aptGet: '/usr/bin/apt-get',
  updateBinfmts: '/usr/sbin/update-binfmts',
  qemu: '/usr/bin/qemu-s390x-static',
  binfmtMounted: true,
  binfmt: 'enabled',
  cgroupUnified: false,
  capSysResource: false,
  limits: { nofileHard: 524288, nprocHard: 96365 },
  freeBytes: 50 * 1024 ** 3,
};

describe('containers.conf', () => {
  it('uses runc and lower default ulimits where crun and raised rlimits fail', () => {
    const c = decideContainersConf({ host: ci });
    expect(c.text).toBe('# Written by weld (src/podman/containers-conf.ts) for this host; see `weld doctor`.\n[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\n');
    expect(c.reasons).toHaveLength(2);
  });

  it('is not used at all where podman defaults work', () => {
    expect(decideContainersConf({ host: { ...ci, cgroupUnified: true, capSysResource: true } })).toEqual({ reasons: [], text: '' });
  });

  it('never asks for more than the hard limits', () => {
    expect(decideContainersConf({ host: { ...ci, cgroupUnified: true, limits: { nofileHard: 4096, nprocHard: 1024 } } }).text).toContain('default_ulimits = ["nofile=4096:4096", "nproc=1024:1024"]');
  });
});

describe('podman invocation', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir('weld-podman-')));
  afterAll(() => cleanup());

  it('passes CONTAINERS_CONF from the project .weld/ only when the host needs it', () => {
    const p = Podman.open({ root: dir, arch: 's390x', env: { PATH: '/usr/bin' }, host: ci });
    if (!p.ok) throw p.error;
    const file = path.join(dir, '.weld/podman/containers.conf');
    expect(p.value.env['CONTAINERS_CONF']).toBe(file);
    expect(readFileSync(file, 'utf8')).toBe(decideContainersConf({ host: ci }).text);
    const plain = Podman.open({ root: path.join(dir, 'b'), arch: 's390x', env: {}, host: { ...ci, cgroupUnified: true, capSysResource: true } });
    expect(plain.ok && plain.value.env['CONTAINERS_CONF']).toBeUndefined();
    expect(existsSync(path.join(dir, 'b/.weld'))).toBe(false);
  });

  it('leaves a CONTAINERS_CONF set by the user alone', () => {
    const p = Podman.open({ root: dir, arch: 's390x', env: { CONTAINERS_CONF: '/etc/mine.conf' }, host: { ...ci, userContainersConf: '/etc/mine.conf' } });
    expect(p.ok && p.value.env['CONTAINERS_CONF']).toBe('/etc/mine.conf');
  });

  it('runs every container for the target arch with the network off unless asked', () => {
    const p = Podman.open({ root: dir, arch: 's390x', env: {}, host: ci });
    if (!p.ok) throw p.error;
    expect(p.value.runArgs({ image: 'weld-env/x:1', cmd: ['uname', '-m'], mounts: [{ host: '/src', container: '/weld/src', readOnly: true }], env: { B: '2', A: '1' } })).toEqual([
      'run', '--rm', '--arch', 's390x', '--network=none', '-v', '/src:/weld/src:ro', '-e', 'A=1', '-e', 'B=2', 'weld-env/x:1', 'uname', '-m',
    ]);
    expect(p.value.runArgs({ image: 'i', cmd: [], network: true })).not.toContain('--network=none');
  });

  it('says podman is missing instead of failing later', () => {
    const { podman: _gone, ...noPodman } = ci;
    const p = Podman.open({ root: dir, arch: 's390x', env: {}, host: noPodman });
    expect(!p.ok && p.error.code).toBe('E_PODMAN_NOT_FOUND');
  });
});

describe('doctor checks', () => {
  it('names the exact command that fixes each missing piece', () => {
    const { podman: _p, runc: _r, qemu: _q, updateBinfmts: _u, ...bare } = ci;
    const checks = checkHost({ ...bare, binfmtMounted: false, binfmt: 'missing', freeBytes: 1024 ** 3 });
    const fixes = Object.fromEntries(checks.filter((c) => !c.ok).map((c) => [c.id, c.fix?.map((f) => f.join(' '))]));
    expect(fixes).toEqual({
      podman: ['env DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman'],
      'oci-runtime': ['env DEBIAN_FRONTEND=noninteractive apt-get install -y -q runc'],
      'qemu-user': ['env DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-user-static binfmt-support'],
      'binfmt-mount': ['mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc'],
      binfmt: ['env DEBIAN_FRONTEND=noninteractive apt-get install -y -q binfmt-support', 'update-binfmts --enable qemu-s390x'],
      disk: ['weld store gc'],
    });
  });

  it('imports qemu\'s binfmt format first when binfmt-support\'s database lacks it', () => {
    // after an interrupted install of qemu-user-static, `update-binfmts --enable` alone fails
    const binfmt = checkHost({ ...ci, binfmt: 'missing', binfmtUnimported: true }).find((c) => c.id === 'binfmt')!;
    expect(binfmt.fix?.map((f) => f.join(' '))).toEqual(['update-binfmts --import qemu-s390x', 'update-binfmts --enable qemu-s390x']);
  });

  it('passes a ready host, and needs no qemu for a native target', () => {
    expect(checkHost(ci).filter((c) => !c.ok)).toEqual([]);
    expect(checkHost({ ...ci, target: 'amd64', binfmt: 'native' }).map((c) => c.id)).not.toContain('qemu-user');
  });

  it('reads this host without changing it', () => {
    const h = detectHost({ target: 's390x', dir: process.cwd() });
    expect(h.freeBytes).toBeGreaterThan(0);
    expect(h.limits.nofileHard).toBeGreaterThan(0);
    expect(typeof h.cgroupUnified).toBe('boolean');
  });
});
