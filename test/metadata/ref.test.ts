import { mkdirSync, renameSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { git, initRepo } from '../helpers/git.js';
import { sampleProject, weld } from '../helpers/project.js';

// Metadata read straight from git objects: a respin branch is checked and shown
// without checking it out, and the work tree's commit and dirtiness are reported.

const showRelease = async (root: string, ...extra: string[]) => {
  const r = await weld(['show', 'toml', '--json', ...extra], { cwd: root });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { release: number; version: string; patches: string[] };
};

describe('--ref', () => {
  let root: string;
  let cleanup: () => void;
  let mainCommit: string;
  let respinCommit: string;

  beforeEach(() => {
    ({ root, cleanup } = sampleProject());
    mainCommit = initRepo(root);
    git(root, 'checkout', '-q', '-b', 'respin');
    const tomlFile = path.join(root, 'metadata/packages/toml.toml');
    writeFileSync(tomlFile, readFileSync(tomlFile, 'utf8').replace('release = 1', 'release = 2'));
    mkdirSync(path.join(root, 'metadata/patches/toml'), { recursive: true });
    writeFileSync(
      path.join(root, 'metadata/patches/toml/0001-doc.patch'),
      'Subject: [PATCH] doc\n\n--- a/README.rst\n+++ b/README.rst\n@@ -1 +1,2 @@\n six\n+respin\n',
    );
    git(root, 'add', '-A');
    git(root, 'commit', '-q', '-m', 'respin toml');
    respinCommit = git(root, 'rev-parse', 'HEAD');
    git(root, 'tag', '-a', 'respin-1', '-m', 'first respin');
    git(root, 'checkout', '-q', 'main');
  });
  afterEach(() => cleanup());

  it('reads each ref as committed, whatever is checked out', async () => {
    expect((await showRelease(root)).release).toBe(1);
    expect((await showRelease(root, '--ref', 'main')).release).toBe(1);
    const respin = await showRelease(root, '--ref', 'respin');
    expect(respin.release).toBe(2);
    expect(respin.patches).toEqual(['metadata/patches/toml/0001-doc.patch']);
    expect((await showRelease(root, '--ref', 'respin-1')).release).toBe(2); // annotated tag
    expect((await showRelease(root, '--ref', respinCommit.slice(0, 10))).release).toBe(2); // abbreviated id
    expect((await showRelease(root, '--ref', mainCommit)).release).toBe(1);
  });

  it('reports the commit of a ref, never dirty', async () => {
    writeFileSync(path.join(root, 'metadata/packages/toml.toml'), 'broken = [');
    const r = await weld(['check', '--json', '--ref', 'respin'], { cwd: root });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).provenance).toEqual({ source: 'ref', ref: 'respin', commit: respinCommit, dirty: false });
  });

  it('reports the work tree commit, and dirty once metadata or recipes change', async () => {
    const state = async () => JSON.parse((await weld(['check', '--json'], { cwd: root })).stdout).provenance;
    expect(await state()).toEqual({ source: 'worktree', commit: mainCommit, dirty: false });
    // outside metadata/ and recipes/: still clean
    writeFileSync(path.join(root, 'NOTES.txt'), 'scratch');
    expect((await state()).dirty).toBe(false);
    writeFileSync(path.join(root, 'metadata/patches-notes.txt'), 'untracked');
    expect(await state()).toEqual({ source: 'worktree', commit: mainCommit, dirty: true });
    git(root, 'add', '-A');
    git(root, 'commit', '-q', '-m', 'notes');
    expect((await state()).dirty).toBe(false);
    writeFileSync(path.join(root, 'recipes/python-wheel.sh'), '#!/bin/sh\nexit 1\n');
    expect((await state()).dirty).toBe(true);
  });

  it('prints diagnostics of a ref as <ref>:<path>:line:col', async () => {
    git(root, 'checkout', '-q', '-b', 'broken');
    writeFileSync(path.join(root, 'metadata/packages/toml.toml'), readFileSync(path.join(root, 'metadata/packages/toml.toml'), 'utf8').replace('recipe = "python-wheel"', 'recipe = "pythn-wheel"'));
    git(root, 'commit', '-q', '-am', 'typo');
    git(root, 'checkout', '-q', 'main');
    const r = await weld(['check', '--ref', 'broken'], { cwd: root });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'broken:metadata/packages/toml.toml:13:10: error: recipe "pythn-wheel" not found: no recipes/pythn-wheel.sh; did you mean "python-wheel"? available: autotools-pack, cmake-pack, meson-pack, python-wheel\n' +
        'weld: error: metadata has 1 error\n',
    );
    // the work tree is still fine
    expect((await weld(['check'], { cwd: root })).code).toBe(0);
  });

  it('works when the project is a subdirectory of the repository', async () => {
    const repo = path.join(root, '..', path.basename(root) + '-outer');
    mkdirSync(repo);
    renameSync(root, path.join(repo, 'distro'));
    const project = path.join(repo, 'distro');
    try {
      git(project, 'checkout', '-q', 'respin');
      renameSync(path.join(project, '.git'), path.join(repo, '.git'));
      git(repo, 'add', '-A');
      git(repo, 'commit', '-q', '-m', 'move into distro/');
      git(repo, 'checkout', '-q', '-b', 'later');
      expect((await showRelease(project, '--ref', 'later')).release).toBe(2);
      const r = await weld(['check', '--ref', 'later'], { cwd: project });
      expect(r.stdout).toBe('ok: weld-sample at later: 6 packages (5 wheels, 1 pack), 2 envs, 2 composes\n');
    } finally {
      renameSync(project, root);
    }
  });

  it('names an unknown ref and what to do', async () => {
    const r = await weld(['check', '--ref', 'no-such-branch'], { cwd: root });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `weld: error: --ref no-such-branch: no branch, tag or commit of that name in ${root}\n` +
        'weld: hint: list them with `git branch -a` and `git tag`\n',
    );
  });

  it('says when the metadata is not in a git repository', async () => {
    const other = sampleProject();
    try {
      const r = await weld(['list', '--ref', 'main'], { cwd: other.root });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`--ref main: ${other.root} is not inside a git repository`);
    } finally {
      other.cleanup();
    }
  });
});
