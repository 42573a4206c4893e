import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summaryData } from '../helpers/event-lines.js';
import { Podman } from '../../src/podman/podman.js';
import { sampleProject, weld } from '../helpers/project.js';
import { sharedEnv } from './shared.js';

// The whole way to a runnable image: both sample envs fetched and composed into a temp
// store, every sample package mirrored and built for s390x under podman, then
// `weld compose image python-runtime`, loaded and run as s390x with the network off.

interface ImageJson {
  tag: string;
  manifest: string;
  wheelManifest: string;
  revision: string | null;
  out: string;
  seconds: number;
  wheels: Array<{ package: string; file: string }>;
  layer: { files: number; size: number };
}

describe('weld compose image python-runtime (s390x)', () => {
  let root: string;
  let cleanup: () => void;
  let outDir: string;
  let env: NodeJS.ProcessEnv;
  let first: ImageJson | undefined;

  const compose = async (...argv: string[]) => {
    const r = await weld(['compose', 'image', 'python-runtime', '--runner', 'podman', '--json', ...argv], { cwd: root, env });
    expect(r.code, r.stderr).toBe(0);
    return summaryData<ImageJson>(r.stdout);
  };
  const podman = () => {
    const p = Podman.open({ root, arch: 's390x', env });
    if (!p.ok) throw p.error;
    return p.value;
  };

  beforeAll(async () => {
    ({ root, cleanup } = sampleProject());
    outDir = mkdtempSync(path.join(os.tmpdir(), 'weld-e2e-image-out-'));
    env = sharedEnv();
    for (const e of ['bookworm-s390x', 'bookworm-s390x-runtime']) {
      for (const step of ['fetch', 'compose']) {
        const r = await weld(['env', step, e, ...(step === 'compose' && e.endsWith('runtime') ? ['--no-load'] : [])], { cwd: root, env });
        expect(r.code, r.stderr).toBe(0);
      }
    }
    const mirrored = await weld(['mirror', '--all'], { cwd: root, env });
    expect(mirrored.code, mirrored.stderr).toBe(0);
    const built = await weld(['build', '--all', '--runner', 'podman'], { cwd: root, env });
    expect(built.code, built.stdout.slice(-3000) + built.stderr).toBe(0);
  });
  afterAll(async () => {
    // before cleanup: podman's containers.conf lives in the project
    if (first) await podman().exec({ args: ['rmi', '-f', first.tag] });
    cleanup();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('composes, loads, and the image imports every package as s390x with no network', async () => {
    first = await compose('--out', path.join(outDir, 'a.oci.tar'));
    console.log(`image compose (incl. podman load): ${first.seconds} s; layer ${first.layer.files} files, ${first.layer.size} bytes`);
    expect(first.tag).toBe(`weld/python-runtime:${first.manifest.slice(7, 19)}`);
    expect(first.wheels.map((w) => w.package)).toEqual(['jinja2', 'markupsafe', 'msgpack', 'pyyaml', 'toml']);
    const p = podman();
    const r = await p.run({
      image: first.tag,
      cmd: ['python3', '-c', 'import yaml, jinja2, markupsafe, toml, msgpack, markupsafe._speedups, platform, importlib.metadata as m; print(platform.machine(), jinja2.Template("{{ x }}").render(x=yaml.safe_load("a: 1")["a"]), m.distribution("Jinja2").read_text("INSTALLER").strip())'],
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('s390x 1 weld');
    const labels = await p.exec({ args: ['image', 'inspect', '--format', '{{json .Labels}}', first.tag] });
    expect(JSON.parse(labels.stdout)).toMatchObject({ 'dev.weld.compose': 'python-runtime', 'dev.weld.manifest': first.wheelManifest });
    const cmd = await p.exec({ args: ['image', 'inspect', '--format', '{{json .Config.Cmd}} {{.Architecture}}', first.tag] });
    expect(cmd.stdout.trim()).toBe('["python3"] s390x');
  });

  it('composes the same image digest and archive bytes again', async () => {
    const second = await compose('--out', path.join(outDir, 'b.oci.tar'), '--no-load');
    expect(second.manifest).toBe(first!.manifest);
    const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    expect(sha(path.join(outDir, 'b.oci.tar'))).toBe(sha(path.join(outDir, 'a.oci.tar')));
    console.log(`image compose again (no load): ${second.seconds} s`);
  });
});
