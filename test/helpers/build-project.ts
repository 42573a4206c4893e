import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { openMetadata } from '../../src/metadata/open.js';
import type { Metadata } from '../../src/metadata/model.js';
import { REPO_ROOT, weld } from './project.js';

// A real project for build tests: packages whose upstreams are release tarballs on
// disk (file:// URLs), mirrored with the real `weld mirror`, so no network is needed.

export interface FixturePackage {
  name: string;
  kind?: 'wheel' | 'pack';
  recipe?: string;
  requires?: string[];
  vars?: Record<string, string>;
  /** [build] repair */
  repair?: string;
  runtimeRequires?: string[];
  /** the [test] table's body, as TOML lines */
  test?: string;
  /** the release's files (relative paths), or a directory to copy them from */
  files: Record<string, string> | { dir: string };
}

export interface BuildProject {
  root: string;
  /** rewrites a package's release tarball and re-mirrors it */
  release(pkg: FixturePackage): Promise<void>;
  metadata(): Promise<Metadata>;
  cleanup(): void;
}

async function writeRelease(opts: { tmp: string; pkg: FixturePackage; serial: number }): Promise<{ url: string; sha256: string }> {
  const src = mkdtempSync(path.join(opts.tmp, 'rel-'));
  const top = path.join(src, `${opts.pkg.name}-1.0`);
  if ('dir' in opts.pkg.files) cpSync(opts.pkg.files.dir, top, { recursive: true });
  else
    for (const [f, text] of Object.entries(opts.pkg.files)) {
      mkdirSync(path.dirname(path.join(top, f)), { recursive: true });
      writeFileSync(path.join(top, f), text);
    }
  const out = path.join(opts.tmp, 'releases', `${opts.pkg.name}-1.0-${opts.serial}.tar.gz`);
  mkdirSync(path.dirname(out), { recursive: true });
  tar.c({ gzip: true, file: out, cwd: src, sync: true, portable: true, mtime: new Date('2023-03-01T12:00:00Z') }, [`${opts.pkg.name}-1.0`]);
  rmSync(src, { recursive: true, force: true });
  return { url: `file://${out}`, sha256: createHash('sha256').update(readFileSync(out)).digest('hex') };
}

export async function buildProject(opts: { packages: FixturePackage[]; recipes?: Record<string, string> }): Promise<BuildProject> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'weld-buildproj-'));
  const root = path.join(tmp, 'project');
  mkdirSync(path.join(root, 'metadata/packages'), { recursive: true });
  cpSync(path.join(REPO_ROOT, 'recipes'), path.join(root, 'recipes'), { recursive: true });
  for (const [name, text] of Object.entries(opts.recipes ?? {})) writeFileSync(path.join(root, 'recipes', `${name}.sh`), text);
  cpSync(path.join(REPO_ROOT, 'metadata/envs'), path.join(root, 'metadata/envs'), { recursive: true });
  writeFileSync(path.join(root, 'metadata/weld.toml'), '[distro]\nname = "t"\narch = "s390x"\nenv = "bookworm-s390x"\n\n[sources]\nallow_paths = ["../releases"]\n');
  let serial = 0;
  const env = { WELD_STORE: path.join(root, 'store') };
  const release = async (pkg: FixturePackage) => {
    const { url, sha256 } = await writeRelease({ tmp, pkg, serial: serial++ });
    const reqs = (pkg.requires ?? []).map((r) => `"${r}"`).join(', ');
    const vars = Object.entries(pkg.vars ?? {}).map(([k, v]) => `${k} = "${v}"`).join(', ');
    writeFileSync(
      path.join(root, 'metadata/packages', `${pkg.name}.toml`),
      `[package]\nname = "${pkg.name}"\nversion = "1.0"\nkind = "${pkg.kind ?? 'wheel'}"\n\n[upstream]\ntarball = "${url}"\nsha256 = "${sha256}"\n\n` +
        `[build]\nrecipe = "${pkg.recipe ?? 'python-wheel'}"\nrequires = [${reqs}]\n${vars ? `vars = { ${vars} }\n` : ''}${pkg.repair ? `repair = "${pkg.repair}"\n` : ''}` +
        (pkg.runtimeRequires ? `\n[runtime]\nrequires = [${pkg.runtimeRequires.map((r) => `"${r}"`).join(', ')}]\n` : '') +
        (pkg.test ? `\n[test]\n${pkg.test}\n` : ''),
    );
  };
  for (const p of opts.packages) await release(p);
  const mirror = async () => {
    const r = await weld(['mirror', '--all'], { cwd: root, env });
    if (r.code !== 0) throw new Error(`weld mirror failed:\n${r.stdout}\n${r.stderr}`);
  };
  await mirror();
  return {
    root,
    release: async (p) => {
      await release(p);
      await mirror();
    },
    metadata: async () => {
      const m = await openMetadata({ cwd: root, cache: false });
      if (!m.ok) throw m.error;
      return m.value;
    },
    cleanup: () => rmSync(tmp, { recursive: true, force: true }),
  };
}
