import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { git, initRepo } from '../helpers/git.js';
import { sampleProject, weld } from '../helpers/project.js';

// Inputs that used to slip through `weld check`: symlinks out of the metadata and
// bytes that are not UTF-8, in the work tree and at a git ref.

describe('weld check on hostile metadata', () => {
  let root: string;
  let cleanup: () => void;
  beforeEach(() => ({ root, cleanup } = sampleProject()));
  afterEach(() => cleanup());

  it('reports symlinks in packages/, envs/, composes/ and patches/ that point outside the metadata', async () => {
    const outside = path.join(root, 'outside.toml');
    writeFileSync(outside, '[package]\nname = "evil"\n');
    symlinkSync(outside, path.join(root, 'metadata/packages/evil.toml'));
    symlinkSync('/etc', path.join(root, 'metadata/envs/etc.toml'));
    symlinkSync(path.join(root, 'missing.toml'), path.join(root, 'metadata/composes/gone.toml'));
    mkdirSync(path.join(root, 'metadata/patches/toml'), { recursive: true });
    symlinkSync('/etc/hostname', path.join(root, 'metadata/patches/toml/0001-x.patch'));
    const r = await weld(['check'], { cwd: root });
    const fix = 'weld reads only files inside the metadata: replace the link with a copy of the file, or move the file in';
    expect(r.stderr).toBe(
      [
        `metadata/composes/gone.toml:1:1: error: is a symlink whose target does not exist; ${fix}`,
        `metadata/envs/etc.toml:1:1: error: is a symlink to /etc, outside metadata/; ${fix}`,
        `metadata/packages/evil.toml:1:1: error: is a symlink to ${outside}, outside metadata/; ${fix}`,
        `metadata/patches/toml/0001-x.patch:1:1: error: is a symlink to /etc/hostname, outside metadata/; ${fix}`,
        'weld: error: metadata has 4 errors',
        '',
      ].join('\n'),
    );
    expect(r.code).toBe(1);
  });

  it('follows a symlink that stays inside the metadata', async () => {
    mkdirSync(path.join(root, 'metadata/shared'));
    writeFileSync(path.join(root, 'metadata/shared/wheels.toml'), '[compose]\nkind = "wheelhouse"\n');
    symlinkSync('../shared/wheels.toml', path.join(root, 'metadata/composes/wheels.toml'));
    const r = await weld(['check'], { cwd: root });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/3 composes/);
  });

  it('refuses invalid UTF-8 and committed symlinks read at a git ref', async () => {
    initRepo(root);
    git(root, 'checkout', '-q', '-b', 'bad');
    writeFileSync(path.join(root, 'metadata/packages/toml.toml'), Buffer.concat([Buffer.from('[package]\nname = "toml"\n# '), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]));
    symlinkSync('/etc/passwd', path.join(root, 'metadata/packages/passwd.toml'));
    git(root, 'add', '-A');
    git(root, 'commit', '-q', '-m', 'bad bytes');
    git(root, 'checkout', '-q', 'main');
    const r = await weld(['check', '--ref', 'bad'], { cwd: root });
    expect(r.stderr).toBe(
      'bad:metadata/packages/passwd.toml:1:1: error: is a symlink to /etc/passwd, outside metadata/; weld reads only files inside the metadata: replace the link with a copy of the file, or move the file in\n' +
        'bad:metadata/packages/toml.toml:3:3: error: invalid UTF-8 (byte 0xFF at offset 26): TOML files must be UTF-8; re-save the file as UTF-8\n' +
        'weld: error: metadata has 2 errors\n',
    );
    expect(r.code).toBe(1);
  });
});
