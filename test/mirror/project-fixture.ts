import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openMetadata } from '../../src/metadata/open.js';
import { mirrorPackages, type MirrorOutcome } from '../../src/mirror/mirror.js';
import { openStore } from '../../src/store/store.js';
import { REPO_ROOT } from '../helpers/project.js';

// A throw-away weld project for mirroring through the library (no CLI child process):
// metadata with envs and recipes, a mirrors dir and a store, all in one temp dir.

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface Project {
  tmp: string;
  root: string;
  mirrors: string;
  /** writes metadata/packages/<name>.toml */
  pkg(name: string, upstream: string, opts?: { version?: string; release?: number }): void;
  /** replaces metadata/patches/<pkg>/ with these patches */
  patches(pkg: string, patches: Record<string, string>): void;
  mirror(pkgs: string[], env?: NodeJS.ProcessEnv): Promise<MirrorOutcome>;
  cleanup(): void;
}

export function project(prefix = 'weld-mirror-'): Project {
  const tmp = mkdtempSync(path.join(os.tmpdir(), prefix));
  const root = path.join(tmp, 'project');
  mkdirSync(path.join(root, 'metadata/packages'), { recursive: true });
  cpSync(path.join(REPO_ROOT, 'recipes'), path.join(root, 'recipes'), { recursive: true });
  cpSync(path.join(REPO_ROOT, 'metadata/envs'), path.join(root, 'metadata/envs'), { recursive: true });
  // the upstreams the tests make live beside the project, in tmp
  writeFileSync(path.join(root, 'metadata/weld.toml'), '[distro]\nname = "t"\narch = "s390x"\nenv = "bookworm-s390x"\n\n[sources]\nallow_paths = [".."]\n');
  const mirrors = path.join(tmp, 'mirrors');
  return {
    tmp,
    root,
    mirrors,
    pkg(name, upstream, opts = {}) {
      writeFileSync(
        path.join(root, 'metadata/packages', `${name}.toml`),
        `[package]\nname = "${name}"\nversion = "${opts.version ?? '1.0'}"\nrelease = ${opts.release ?? 1}\n\n[upstream]\n${upstream}\n\n[build]\nrecipe = "python-wheel"\n`,
      );
    },
    patches(pkg, patches) {
      const dir = path.join(root, 'metadata/patches', pkg);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      for (const [name, text] of Object.entries(patches)) writeFileSync(path.join(dir, name), text);
    },
    async mirror(pkgs, env = {}) {
      const metadata = await openMetadata({ cwd: root, cache: false });
      if (!metadata.ok) throw metadata.error;
      return mirrorPackages({
        metadata: metadata.value,
        packages: pkgs,
        mirrorsDir: mirrors,
        store: async () => openStore({ path: path.join(tmp, 'store') }),
        env: { ...env, WELD_GIT: 'native' },
        aptDir: path.join(tmp, 'no-apt'),
      });
    },
    cleanup: () => rmSync(tmp, { recursive: true, force: true }),
  };
}

/** Every file and directory of a repository with a digest of its bytes: equal snapshots mean nothing changed. */
export function snapshot(gitdir: string): string[] {
  if (!existsSync(gitdir)) return [];
  return (readdirSync(gitdir, { recursive: true }) as string[])
    .map((p) => {
      const full = path.join(gitdir, p);
      return statSync(full).isDirectory() ? `${p}/` : `${p} ${sha256(readFileSync(full))}`;
    })
    .sort();
}

/** A patch that creates `file` (a symlink when `link`) with one line of content. */
export function createPatch(opts: { file: string; content: string; link?: boolean; subject?: string }): string {
  const mode = opts.link ? '120000' : '100644';
  return [
    'From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001',
    'From: Distro Maintainer <maint@example.org>',
    'Date: Wed, 1 Mar 2023 10:00:00 +0100',
    `Subject: [PATCH] ${opts.subject ?? `add ${opts.file}`}`,
    '',
    '---',
    `diff --git a/${opts.file} b/${opts.file}`,
    `new file mode ${mode}`,
    '--- /dev/null',
    `+++ b/${opts.file}`,
    '@@ -0,0 +1 @@',
    `+${opts.content}`,
    ...(opts.link ? ['\\ No newline at end of file'] : []),
    '',
  ].join('\n');
}
