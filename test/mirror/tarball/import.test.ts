import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import git from 'isomorphic-git';
import * as tarPkg from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importTarball, type TarballImport } from '../../../src/mirror/tarball/import.js';
import { bareRepo, entry, nativeTree, objectStore, pax, streamOf, tar, tempDir } from '../../helpers/tar.js';

// Real tarballs of an upstream-like tree, made by GNU tar and by the `tar` package,
// imported into real bare repositories and checked against what native git writes.

let tmp: ReturnType<typeof tempDir>;
let plain: Buffer; // GNU tar, default (gnu) format
let expectedTree: string;

function fsck(gitdir: string): string {
  return execFileSync('git', ['--git-dir', gitdir, 'fsck', '--strict', '--no-dangling'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function importOk(data: Buffer, name: string, gitdir = bareRepo(fs.mkdtempSync(path.join(tmp.dir, 'r-')))): Promise<{ gitdir: string; value: TarballImport }> {
  const r = await importTarball({ gitdir, input: streamOf(data), source: name });
  if (!r.ok) throw new Error(`import failed: ${JSON.stringify(r.error.toJSON())}`);
  return { gitdir, value: r.value };
}

beforeAll(() => {
  tmp = tempDir('weld-tarball-');
  const root = path.join(tmp.dir, 'src', 'pkg-1.0');
  const w = (p: string, data: string | Buffer, mode = 0o644) => {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), data, { mode });
    fs.chmodSync(path.join(root, p), mode);
  };
  w('README.md', '# pkg\n\nA package.\n');
  w('configure', '#!/bin/sh\necho configuring\n', 0o755);
  w('src/main.c', 'int main(void) { return 0; }\n');
  w('src/big.txt', Array.from({ length: 8000 }, (_, i) => `line ${i} of a large, compressible text file\n`).join(''));
  w('data/random.bin', crypto.randomBytes(300 * 1024));
  w('data/small.bin', crypto.randomBytes(100));
  w('empty.txt', '');
  // git sorts the directory `a` as "a/": after "a-b" and "a.b", before "a0"
  w('a-b', '1\n');
  w('a.b', '2\n');
  w('a0', '3\n');
  w('a/x', '4\n');
  w('ünïcødé/файл.txt', 'unicode\n');
  const longDir = `deep/${'d'.repeat(200)}/${'e'.repeat(120)}`;
  w(`${longDir}/file-with-a-long-path.txt`, 'long\n');
  fs.mkdirSync(path.join(root, 'empty', 'nested'), { recursive: true });
  fs.mkdirSync(path.join(root, 'docs'));
  fs.symlinkSync('../README.md', path.join(root, 'docs', 'link-to-readme'));
  fs.symlinkSync('src', path.join(root, 'latest'));
  fs.linkSync(path.join(root, 'configure'), path.join(root, 'configure.hard'));

  const plainPath = path.join(tmp.dir, 'pkg.tar');
  execFileSync('tar', ['-C', path.join(tmp.dir, 'src'), '-cf', plainPath, 'pkg-1.0']);
  plain = fs.readFileSync(plainPath);
  const out = path.join(tmp.dir, 'extracted');
  fs.mkdirSync(out);
  execFileSync('tar', ['-C', out, '-xf', plainPath]);
  expectedTree = nativeTree(path.join(out, 'pkg-1.0'));
});

afterAll(() => tmp.cleanup());

describe('importTarball: tarballs of a real tree', () => {
  it('plain tar (GNU format): the same tree as git add -A of the extracted files, fsck --strict clean', async () => {
    const { gitdir, value } = await importOk(plain, 'pkg.tar');
    expect(value.tree).toBe(expectedTree);
    expect(value.topDir).toBe('pkg-1.0');
    // 13 files + 2 symlinks + 1 hard link
    expect(value.files).toBe(16);
    expect(value.skipped).toEqual([{ path: 'empty', reason: 'an empty directory; git stores no directory without files' }]);
    expect(fsck(gitdir)).toBe('');
    // exactly one pack, nothing loose
    expect(objectStore(gitdir).filter((f) => !f.startsWith('info') && !f.startsWith('pack'))).toEqual([]);
    expect(objectStore(gitdir).filter((f) => f.startsWith('pack/'))).toHaveLength(2);
  });

  it('gzip', async () => {
    const { gitdir, value } = await importOk(zlib.gzipSync(plain), 'pkg.tar.gz');
    expect(value.tree).toBe(expectedTree);
    expect(fsck(gitdir)).toBe('');
  });

  // Committed fixtures (test/fixtures/archive): no test depends on the host's xz or bzip2.
  it.each(['xz', 'bz2'])('%s (committed fixture) gives the tree of the same tar uncompressed', async (ext) => {
    const fixtures = path.join(import.meta.dirname, '../../fixtures/archive');
    const { value: expected } = await importOk(fs.readFileSync(path.join(fixtures, 'pkg.tar')), 'pkg.tar');
    const { gitdir, value } = await importOk(fs.readFileSync(path.join(fixtures, `pkg.tar.${ext}`)), `pkg.tar.${ext}`);
    expect(value).toEqual(expected);
    expect(value.files).toBe(4);
    expect(fsck(gitdir)).toBe('');
  });

  it('pax format written by the tar package, fed one byte-odd chunk at a time', async () => {
    const file = path.join(tmp.dir, 'pkg-pax.tgz');
    await tarPkg.c({ cwd: path.join(tmp.dir, 'src'), file, gzip: true, portable: true }, ['pkg-1.0']);
    const gitdir = bareRepo(fs.mkdtempSync(path.join(tmp.dir, 'r-')));
    const r = await importTarball({ gitdir, input: streamOf(fs.readFileSync(file), 777), source: 'pkg-pax.tgz' });
    expect(r.ok && r.value.tree).toBe(expectedTree);
    expect(fsck(gitdir)).toBe('');
  });

  it('isomorphic-git reads the trees and blobs', async () => {
    const { gitdir, value } = await importOk(plain, 'pkg.tar');
    const { tree } = await git.readTree({ fs, gitdir, oid: value.tree });
    // (the order of entries is proven by the tree id above; isomorphic-git re-sorts its own way)
    expect(tree.map((e) => `${e.mode} ${e.type} ${e.path}`).sort()).toEqual([
      '100644 blob README.md',
      '100644 blob a-b',
      '100644 blob a.b',
      '040000 tree a',
      '100644 blob a0',
      '100755 blob configure',
      '100755 blob configure.hard',
      '040000 tree data',
      '040000 tree deep',
      '040000 tree docs',
      '100644 blob empty.txt',
      '120000 blob latest',
      '040000 tree src',
      '040000 tree ünïcødé',
    ].sort());
    const readme = tree.find((e) => e.path === 'README.md')!;
    const { blob } = await git.readBlob({ fs, gitdir, oid: readme.oid });
    expect(Buffer.from(blob).toString()).toBe('# pkg\n\nA package.\n');
    const link = await git.readBlob({ fs, gitdir, oid: tree.find((e) => e.path === 'latest')!.oid });
    expect(Buffer.from(link.blob).toString()).toBe('src');
    const big = await git.readBlob({ fs, gitdir, oid: value.tree, filepath: 'data/random.bin' });
    expect(big.blob.length).toBe(300 * 1024);
  });

  it('importing the same release again writes nothing new', async () => {
    const { gitdir, value } = await importOk(plain, 'pkg.tar');
    const before = objectStore(gitdir);
    const again = await importOk(zlib.gzipSync(plain), 'pkg.tar.gz', gitdir);
    expect(again.value.tree).toBe(value.tree);
    expect(objectStore(gitdir)).toEqual(before);
  });

  it('reports progress per file, ending at the totals', async () => {
    const seen: Array<{ bytes: number; files: number }> = [];
    const gitdir = bareRepo(fs.mkdtempSync(path.join(tmp.dir, 'r-')));
    const r = await importTarball({ gitdir, input: streamOf(plain), source: 'pkg.tar', onProgress: (p) => seen.push(p) });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(seen).toHaveLength(16);
    expect(seen.at(-1)).toEqual({ bytes: r.value.bytes, files: 16 });
  });
});

describe('importTarball: tar semantics', () => {
  it('later entries replace earlier ones; hard links copy the file as it is then; ./ prefixes are fine', async () => {
    const data = tar(
      entry({ name: './', type: '5', mode: 0o755 }),
      entry({ name: './p/', type: '5', mode: 0o755 }),
      entry({ name: './p/a', data: 'first\n' }),
      entry({ name: './p/tool', data: '#!/bin/sh\n', mode: 0o755 }),
      entry({ name: './p/tool-link', type: '1', linkname: './p/tool' }),
      entry({ name: './p/a', data: 'second\n', mtime: 1_700_000_500 }),
      entry({ name: './p/d', data: 'a file, soon a directory\n' }),
      entry({ name: './p/d/inner', data: 'inside\n' }),
      entry({ name: './p/tool', data: 'replaced\n' }),
    );
    const { gitdir, value } = await importOk(data, 'semantics.tar');
    expect(value.topDir).toBe('p');
    expect(value.mtime).toBe(1_700_000_500);
    expect(fsck(gitdir)).toBe('');
    const ls = execFileSync('git', ['--git-dir', gitdir, 'ls-tree', '-r', value.tree], { encoding: 'utf8' });
    const blob = (s: string) => execFileSync('git', ['hash-object', '--stdin'], { input: s, encoding: 'utf8' }).trim();
    expect(ls).toBe(
      [
        `100644 blob ${blob('second\n')}\ta`,
        `100644 blob ${blob('inside\n')}\td/inner`,
        `100644 blob ${blob('replaced\n')}\ttool`,
        `100755 blob ${blob('#!/bin/sh\n')}\ttool-link`,
        '',
      ].join('\n'),
    );
    expect(value).toMatchObject({ files: 4, bytes: 7 + 7 + 9 + 10, skipped: [] });
  });

  it('skips .git (and the names git treats as .git) and reports each once', async () => {
    const data = tar(
      entry({ name: 'p/', type: '5' }),
      entry({ name: 'p/keep.txt', data: 'keep\n' }),
      entry({ name: 'p/.git/', type: '5' }),
      entry({ name: 'p/.git/HEAD', data: 'ref: refs/heads/main\n' }),
      entry({ name: 'p/.git/config', data: '[core]\n' }),
      entry({ name: 'p/sub/.GIT', data: 'x' }),
      entry({ name: 'p/sub/git~1/x', data: 'x' }),
      entry({ name: 'p/sub/.git. ', data: 'x' }),
      entry({ name: 'p/sub/.gitmodules', type: '2', linkname: 'keep.txt' }),
      entry({ name: 'p/sub/.gitignore', data: '*.o\n' }),
      entry({ name: 'p/link', type: '2', linkname: 'keep.txt' }),
      entry({ name: 'p/.gitmodules', type: '1', linkname: 'p/link' }),
    );
    const { gitdir, value } = await importOk(data, 'dotgit.tar');
    expect(fsck(gitdir)).toBe('');
    expect(value.files).toBe(3);
    expect(value.skipped).toEqual([
      { path: '.git', reason: 'git keeps its own data in .git; it cannot be stored in a tree' },
      { path: 'sub/.GIT', reason: 'git keeps its own data in .git; it cannot be stored in a tree' },
      { path: 'sub/git~1', reason: 'git keeps its own data in .git; it cannot be stored in a tree' },
      { path: 'sub/.git. ', reason: 'git keeps its own data in .git; it cannot be stored in a tree' },
      { path: 'sub/.gitmodules', reason: 'git refuses .gitmodules as a symbolic link' },
      { path: '.gitmodules', reason: 'git refuses .gitmodules as a symbolic link' },
    ]);
  });

  it('knows plain tar by its ustar magic, even when the first name looks like bzip2 or rar', async () => {
    for (const top of ['BZh9-1.0', 'Rar!-2.0']) {
      const { value } = await importOk(tar(entry({ name: `${top}/`, type: '5' }), entry({ name: `${top}/f`, data: 'f\n' })), 'odd.tar');
      expect(value.topDir).toBe(top);
    }
  });

  it('takes long names from pax headers', async () => {
    const long = `p/${'x'.repeat(250)}/${'y'.repeat(250)}.txt`;
    const { gitdir, value } = await importOk(tar(entry({ name: 'p/', type: '5' }), pax({ path: long }), entry({ name: 'ignored-short-name', data: 'long\n' })), 'long.tar');
    const ls = execFileSync('git', ['--git-dir', gitdir, 'ls-tree', '-r', '--name-only', value.tree], { encoding: 'utf8' });
    expect(ls).toBe(`${long.slice(2)}\n`);
  });
});
