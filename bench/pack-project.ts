import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';

// The committed project the service benches submit: pack packages from local release
// tarballs under <tmp>/releases (the server's WELD_ALLOW_PATHS), built by the recipes
// given, in <tmp>/project.

const repoRoot = path.resolve(import.meta.dirname, '../..');
const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
export const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', env: gitEnv }).trim();

export interface BenchPack {
  name: string;
  recipe: string;
  requires?: string[];
}

/** Writes and commits the project; returns its root. */
export function writePackProject(o: { tmp: string; recipes: Record<string, string>; packages: BenchPack[] }): string {
  const root = path.join(o.tmp, 'project');
  const releases = path.join(o.tmp, 'releases');
  const src = path.join(o.tmp, 'src');
  for (const d of [path.join(root, 'metadata/packages'), path.join(root, 'recipes'), releases, src]) mkdirSync(d, { recursive: true });
  execFileSync('cp', ['-r', path.join(repoRoot, 'recipes/.'), path.join(root, 'recipes')]);
  execFileSync('cp', ['-r', path.join(repoRoot, 'metadata/envs'), path.join(root, 'metadata/envs')]);
  for (const [name, script] of Object.entries(o.recipes)) writeFileSync(path.join(root, 'recipes', `${name}.sh`), script);
  writeFileSync(path.join(root, 'metadata/weld.toml'), '[distro]\nname = "bench"\narch = "s390x"\nenv = "bookworm-s390x"\n');
  for (const { name, recipe, requires = [] } of o.packages) {
    mkdirSync(path.join(src, `${name}-1.0`));
    writeFileSync(path.join(src, `${name}-1.0`, 'README'), `${name}\n`);
    const file = path.join(releases, `${name}-1.0.tar.gz`);
    tar.c({ gzip: true, file, cwd: src, sync: true, portable: true, mtime: new Date('2023-03-01T12:00:00Z') }, [`${name}-1.0`]);
    const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
    writeFileSync(
      path.join(root, 'metadata/packages', `${name}.toml`),
      `[package]\nname = "${name}"\nversion = "1.0"\nkind = "pack"\n\n[upstream]\ntarball = "file://${file}"\nsha256 = "${sha}"\n\n[build]\nrecipe = "${recipe}"\nrequires = [${requires.map((r) => `"${r}"`).join(', ')}]\n`,
    );
  }
  writeFileSync(path.join(root, '.gitignore'), 'store/\nmirrors/\n.weld/\n');
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'bench metadata');
  return root;
}

/** A recipe that leaves a one-file prefix at once. */
export const INSTANT_RECIPE = '#!/bin/sh\nset -e\nmkdir -p "$WELD_OUT/prefix"\necho "$WELD_PACKAGE" > "$WELD_OUT/prefix/out.txt"\n';
