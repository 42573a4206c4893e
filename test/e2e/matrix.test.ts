import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildSummary } from '../../src/session/executor.js';
import { Podman } from '../../src/podman/podman.js';
import { applyOverlay, REPO_ROOT, sampleProject, weld } from '../helpers/project.js';
import { sharedEnv } from './shared.js';

// The sample distro for two targets, s390x and ppc64el (bookworm's CPython 3.11 on each),
// under podman and qemu: every package builds for both, the pure wheel (toml) once; the
// wheelhouse holds both arches' wheels and pip in each runtime env takes its own; the image
// compose makes an image per target (each runs on its arch) and an image index over them.

const TARGETS = ['s390x-py311', 'ppc64el-py311'];

describe('a distro with two targets (s390x and ppc64el)', () => {
  let root: string;
  let cleanup: () => void;
  let env: NodeJS.ProcessEnv;
  let podman: Podman;
  const tags: string[] = [];

  beforeAll(() => {
    ({ root, cleanup } = sampleProject());
    applyOverlay(root, path.join(REPO_ROOT, 'test/fixtures/matrix'));
    env = sharedEnv({ WELD_RUNNER: 'podman' });
    const p = Podman.open({ root, arch: 'ppc64el', env });
    if (!p.ok) throw p.error;
    podman = p.value;
  });
  afterAll(async () => {
    // Only what this file made: the images and the manifest list (never the shared env images).
    for (const t of tags) await podman.exec({ args: ['manifest', 'rm', t] }).then(() => podman.exec({ args: ['rmi', '-f', t] }));
    cleanup();
  });

  it('builds every package for both targets, the pure wheel once, and tests each on its arch', async () => {
    for (const e of ['bookworm-s390x', 'bookworm-s390x-runtime', 'bookworm-ppc64el', 'bookworm-ppc64el-runtime']) {
      for (const step of ['fetch', 'compose']) {
        const r = await weld(['env', step, e], { cwd: root, env });
        expect(r.code, r.stderr.slice(-2000)).toBe(0);
      }
    }
    const mirrored = await weld(['mirror', '--all'], { cwd: root, env });
    expect(mirrored.code, mirrored.stderr.slice(-2000)).toBe(0);
    const r = await weld(['build', '--all', '--jobs', '2', '--json'], { cwd: root, env });
    expect(r.code, r.stdout.slice(-3000) + r.stderr.slice(-2000)).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!).data as BuildSummary;
    const all = [...summary.built, ...summary.cached, ...summary.shared];
    for (const pkg of ['libyaml', 'pyyaml', 'markupsafe', 'jinja2', 'msgpack', 'toml']) for (const t of TARGETS) expect(all).toContain(`${pkg}@${t}`);
    // toml is py2.py3-none-any: the s390x target made it (now or in the main job); ppc64el records that build
    expect([...summary.shared, ...summary.cached]).toContain('toml@ppc64el-py311');
    expect(summary.built).not.toContain('toml@ppc64el-py311');
    for (const t of TARGETS) expect([...summary.tested, ...summary.testsReused]).toContain(`markupsafe@${t}`);

    const status = await weld(['status', '--json'], { cwd: root, env });
    const rows = JSON.parse(status.stdout) as Array<{ package: string; target: string; state: string; record?: { outputs: Array<{ name: string }>; sharedFrom?: unknown } }>;
    expect(rows).toHaveLength(12);
    expect(rows.every((row) => row.state === 'cached')).toBe(true);
    const ppcMarkupsafe = rows.find((row) => row.package === 'markupsafe' && row.target === 'ppc64el-py311')!;
    expect(ppcMarkupsafe.record!.outputs[0]!.name).toMatch(/cp311-cp311-manylinux_2_\d+_ppc64le/);
    const tomls = rows.filter((row) => row.package === 'toml');
    expect(new Set(tomls.map((row) => row.record!.outputs[0]!.name)).size).toBe(1);
  }, 45 * 60_000); // run alone, it builds both arches from nothing under qemu (~25 min on two cores); after the main job, only ppc64el

  it('a wheelhouse holds both arches and pip in each runtime env installs its own wheel', async () => {
    const r = await weld(['compose', 'wheelhouse', '--json'], { cwd: root, env });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const dir = path.join(root, 'out/wheelhouse/default');
    const wheels = readdirSync(path.join(dir, 'wheels')).filter((f) => f.endsWith('.whl'));
    expect(wheels.filter((w) => w.startsWith('MarkupSafe-')).map((w) => /_(s390x|ppc64le)\.whl$/.exec(w)?.[1]).sort()).toEqual(['ppc64le', 's390x']);
    expect(wheels.filter((w) => w.startsWith('toml-'))).toHaveLength(1);
    const envs = JSON.parse((await weld(['env', 'ls', '--json'], { cwd: root, env })).stdout) as Array<{ env: string; tag: string | null }>;
    for (const [arch, runtime] of [['s390x', 'bookworm-s390x-runtime'], ['ppc64le', 'bookworm-ppc64el-runtime']] as const) {
      const image = envs.find((e) => e.env === runtime)!.tag!;
      const pip = await podman.exec({
        args: ['run', '--rm', '--arch', arch, '--network=none', '-v', `${dir}:/wh:ro`, image, 'sh', '-c', 'python3 -m pip install --no-cache-dir --disable-pip-version-check --break-system-packages --index-url file:///wh/simple markupsafe pyyaml >/dev/null && python3 -c "import markupsafe._speedups, yaml, platform; print(platform.machine(), yaml.__with_libyaml__)"'],
      });
      expect(pip.code, pip.stderr.slice(-2000)).toBe(0);
      expect(pip.stdout.trim()).toBe(`${arch} True`);
    }
  });

  it('the image compose makes an image per target, each running on its arch, and an index over both', async () => {
    const r = await weld(['compose', 'image', 'python-runtime', '--json'], { cwd: root, env });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const index = JSON.parse(r.stdout.trim().split('\n').at(-1)!).data as { tag: string; images: Array<{ target: string; tag: string }> };
    tags.push(index.tag, ...index.images.map((i) => i.tag));
    expect(index.images.map((i) => i.target)).toEqual(TARGETS);
    const inspect = await podman.exec({ args: ['manifest', 'inspect', index.tag] });
    expect(inspect.code, inspect.stderr).toBe(0);
    const list = JSON.parse(inspect.stdout) as { manifests: Array<{ platform: { architecture: string } }> };
    expect(list.manifests.map((m) => m.platform.architecture).sort()).toEqual(['ppc64le', 's390x']);
    // podman 4.3 cannot `podman run --arch X` a manifest list in local storage ("no image
    // found in image index for architecture"): each image of the index is run by its own tag.
    for (const [i, arch] of (['s390x', 'ppc64le'] as const).entries()) {
      const ran = await podman.exec({ args: ['run', '--rm', '--arch', arch, '--network=none', index.images[i]!.tag, 'python3', '-c', 'import platform, jinja2, markupsafe._speedups, yaml; print(platform.machine())'] });
      expect(ran.code, ran.stderr.slice(-2000)).toBe(0);
      expect(ran.stdout.trim()).toBe(arch);
    }
  });
});
