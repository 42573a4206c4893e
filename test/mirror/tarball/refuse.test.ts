import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importTarball } from '../../../src/mirror/tarball/import.js';
import { END, bareRepo, entry, header, objectStore, pax, streamOf, tar, tempDir } from '../../helpers/tar.js';

// Hostile and broken archives. Each must be refused with its exact code and message,
// and leave the repository's object store byte for byte as it was, even though good
// files came first and were already on their way into the pack.

const HINTS: Record<string, string> = {
  E_TARBALL_UNSAFE_PATH: 'refusing to import it; check that the tarball URL and sha256 in the package metadata name the real upstream release',
  E_TARBALL_LINK_ESCAPE: 'refusing to import it; check that the tarball URL and sha256 in the package metadata name the real upstream release',
  E_TARBALL_DEVICE: 'refusing to import it; check that the tarball URL and sha256 in the package metadata name the real upstream release',
  E_TARBALL_SETUID: 'refusing to import it; check that the tarball URL and sha256 in the package metadata name the real upstream release',
  E_TARBALL_LINK_MISSING: 'the tarball is damaged or was written out of order; fetch the release again or use another upstream archive',
  E_TARBALL_CORRUPT: 'the download is truncated or damaged; fetch it again and check its sha256 against the upstream release',
  E_TARBALL_EMPTY: 'check that the tarball URL names the release archive, not a placeholder or an error page',
  E_TARBALL_LAYOUT:
    'weld imports release tarballs that hold one top directory (like name-1.0/) and nothing beside it; repack the release that way or use a git upstream',
  E_TARBALL_FORMAT: 'weld reads tar archives, plain or compressed with gzip, xz or bzip2; use the upstream release in one of those forms',
  E_TARBALL_NAME: 'names must be valid UTF-8, at most 4096 bytes long, with no component over 255 bytes; repack the release with such names',
  E_TARBALL_READ: 'try again; if it keeps failing, check the network or the downloaded file',
  E_TARBALL_WRITE: 'check free space and permissions of the mirror repository, then run the mirror again',
};

// Good entries first, one big enough to be deflated on the threadpool, so a refusal
// happens with objects already queued for the pack.
const GOOD = Buffer.concat([
  entry({ name: 'p/', type: '5', mode: 0o755 }),
  entry({ name: 'p/README', data: 'fine\n' }),
  entry({ name: 'p/big.txt', data: 'some text\n'.repeat(20_000) }),
  entry({ name: 'p/blob.bin', data: crypto.randomBytes(100_000) }),
]);
const withGood = (...parts: Buffer[]) => tar(GOOD, ...parts);
const goodTar = tar(GOOD);
// Committed (test/fixtures/archive): the same bytes whatever the host has installed.
const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, '../../fixtures/archive', name));

interface Case {
  title: string;
  source: string;
  data: Buffer;
  code: string;
  message: string;
}

const huge = `p/${'n/'.repeat(2500)}file`;
const cases: Case[] = [
  {
    title: 'path traversal',
    source: 'evil.tar',
    data: withGood(entry({ name: 'p/../x', data: 'x' })),
    code: 'E_TARBALL_UNSAFE_PATH',
    message: 'evil.tar: entry "p/../x" has a ".." component, which would leave the tree',
  },
  {
    title: 'absolute path',
    source: 'evil.tar',
    data: withGood(entry({ name: '/etc/passwd', data: 'root::0:0::/:/bin/sh\n' })),
    code: 'E_TARBALL_UNSAFE_PATH',
    message: 'evil.tar: entry "/etc/passwd" has an absolute path',
  },
  {
    title: 'symlink escaping the tree',
    source: 'evil.tar',
    data: withGood(entry({ name: 'p/link', type: '2', linkname: '../../etc/passwd' })),
    code: 'E_TARBALL_LINK_ESCAPE',
    message: 'evil.tar: entry "p/link" is a symlink to "../../etc/passwd", which resolves outside the tree',
  },
  {
    title: 'symlink escaping through another symlink',
    source: 'evil.tar',
    data: withGood(entry({ name: 'p/d/a', type: '2', linkname: '..' }), entry({ name: 'p/b', type: '2', linkname: 'd/a/..' })),
    code: 'E_TARBALL_LINK_ESCAPE',
    message: 'evil.tar: entry "p/b" is a symlink to "d/a/..", which resolves outside the tree',
  },
  {
    title: 'absolute symlink',
    source: 'evil.tar',
    data: withGood(entry({ name: 'p/abs', type: '2', linkname: '/etc/shadow' })),
    code: 'E_TARBALL_LINK_ESCAPE',
    message: 'evil.tar: entry "p/abs" is a symlink to the absolute path "/etc/shadow", outside the tree',
  },
  {
    title: 'symlink loop',
    source: 'evil.tar',
    data: withGood(entry({ name: 'p/x', type: '2', linkname: 'y/z' }), entry({ name: 'p/y', type: '2', linkname: 'x/z' })),
    code: 'E_TARBALL_LINK_ESCAPE',
    message: 'evil.tar: entry "p/x" is a symlink to "y/z", which loops through more than 40 symlinks',
  },
  {
    title: 'hard link outside the top directory',
    source: 'evil.tar',
    data: withGood(entry({ name: 'p/h', type: '1', linkname: 'other/file' })),
    code: 'E_TARBALL_LINK_ESCAPE',
    message: 'evil.tar: entry "p/h" is a hard link to "other/file", outside the top directory "p/"',
  },
  {
    title: 'hard link with ..',
    source: 'evil.tar',
    data: withGood(entry({ name: 'p/h', type: '1', linkname: 'p/../../etc/passwd' })),
    code: 'E_TARBALL_LINK_ESCAPE',
    message: 'evil.tar: entry "p/h" is a hard link to "p/../../etc/passwd", outside the tree',
  },
  {
    title: 'hard link to a later entry',
    source: 'evil.tar',
    data: withGood(entry({ name: 'p/h', type: '1', linkname: 'p/later' }), entry({ name: 'p/later', data: 'x' })),
    code: 'E_TARBALL_LINK_MISSING',
    message: 'evil.tar: entry "p/h" is a hard link to "p/later", which is not a file earlier in the archive',
  },
  {
    title: 'character device',
    source: 'evil.tar',
    data: withGood(entry({ name: 'p/null', type: '3' })),
    code: 'E_TARBALL_DEVICE',
    message: 'evil.tar: entry "p/null" is a character device; git can only store files, symlinks and directories',
  },
  {
    title: 'block device',
    source: 'evil.tar',
    data: withGood(entry({ name: 'p/sda', type: '4' })),
    code: 'E_TARBALL_DEVICE',
    message: 'evil.tar: entry "p/sda" is a block device; git can only store files, symlinks and directories',
  },
  {
    title: 'FIFO',
    source: 'evil.tar',
    data: withGood(entry({ name: 'p/pipe', type: '6' })),
    code: 'E_TARBALL_DEVICE',
    message: 'evil.tar: entry "p/pipe" is a FIFO (named pipe); git can only store files, symlinks and directories',
  },
  {
    title: 'setuid file',
    source: 'evil.tar',
    data: withGood(entry({ name: 'p/su', data: '#!/bin/sh\n', mode: 0o4755 })),
    code: 'E_TARBALL_SETUID',
    message: 'evil.tar: entry "p/su" has mode 4755, with setuid, setgid or sticky bits, which a source release never needs',
  },
  {
    title: 'sticky directory',
    source: 'evil.tar',
    data: withGood(entry({ name: 'p/tmp/', type: '5', mode: 0o1777 })),
    code: 'E_TARBALL_SETUID',
    message: 'evil.tar: entry "p/tmp/" has mode 1777, with setuid, setgid or sticky bits, which a source release never needs',
  },
  {
    title: 'truncated gzip',
    source: 'evil.tar.gz',
    data: zlib.gzipSync(goodTar).subarray(0, 20_000),
    code: 'E_TARBALL_CORRUPT',
    message: 'evil.tar.gz: the gzip data is truncated or damaged',
  },
  {
    title: 'gzip with a damaged byte',
    source: 'evil.tar.gz',
    data: (() => {
      const gz = Buffer.from(zlib.gzipSync(goodTar));
      gz[gz.length - 6]! ^= 0xff; // inside the CRC32 trailer
      return gz;
    })(),
    code: 'E_TARBALL_CORRUPT',
    message: 'evil.tar.gz: the gzip data is truncated or damaged',
  },
  {
    title: 'bzip2 cut short',
    source: 'evil.tar.bz2',
    data: fixture('pkg.tar.bz2').subarray(0, 200),
    code: 'E_TARBALL_CORRUPT',
    message: 'evil.tar.bz2: the bzip2 data is truncated or damaged',
  },
  {
    title: 'tar truncated inside an entry',
    source: 'evil.tar',
    data: Buffer.concat([GOOD, entry({ name: 'p/cut', data: 'y'.repeat(5000) })]).subarray(0, GOOD.length + 512 + 1024),
    code: 'E_TARBALL_CORRUPT',
    message: 'evil.tar: at entry "p/cut": the tar data ends inside this entry',
  },
  {
    title: 'tar without its end-of-archive marker',
    source: 'evil.tar',
    data: GOOD,
    code: 'E_TARBALL_CORRUPT',
    message: 'evil.tar: the tar data stops without an end-of-archive marker, so entries may be missing',
  },
  {
    title: 'damaged tar header in the middle',
    source: 'evil.tar',
    data: (() => {
      const bad = entry({ name: 'p/x', data: 'x' });
      bad[0] = 0x71; // checksum no longer matches
      return withGood(bad);
    })(),
    code: 'E_TARBALL_CORRUPT',
    message: 'evil.tar: damaged tar header after 4 entries (checksum failure)',
  },
  {
    title: 'empty input',
    source: 'evil.tar',
    data: Buffer.alloc(0),
    code: 'E_TARBALL_EMPTY',
    message: 'evil.tar: the input is empty (0 bytes)',
  },
  {
    title: 'empty archive',
    source: 'evil.tar.gz',
    data: zlib.gzipSync(END),
    code: 'E_TARBALL_EMPTY',
    message: 'evil.tar.gz: the archive holds no entries',
  },
  {
    title: 'directories only',
    source: 'evil.tar',
    data: tar(entry({ name: 'p/', type: '5' }), entry({ name: 'p/d/', type: '5' })),
    code: 'E_TARBALL_EMPTY',
    message: 'evil.tar: holds only directories, no files',
  },
  {
    title: 'only ./',
    source: 'evil.tar',
    data: tar(entry({ name: './', type: '5' })),
    code: 'E_TARBALL_EMPTY',
    message: 'evil.tar: holds only directories, no files',
  },
  {
    title: 'no top directory',
    source: 'evil.tar',
    data: tar(entry({ name: 'README', data: 'hi\n' }), entry({ name: 'setup.py', data: '' })),
    code: 'E_TARBALL_LAYOUT',
    message: 'evil.tar: entry "README" is a file at the top of the archive, where a single directory belongs',
  },
  {
    title: 'files beside the top directory',
    source: 'evil.tar',
    data: withGood(entry({ name: 'q/x', data: 'x' })),
    code: 'E_TARBALL_LAYOUT',
    message: 'evil.tar: entry "q/x" lies beside the top directory "p/"',
  },
  {
    title: 'name longer than 4096 bytes',
    source: 'evil.tar',
    data: withGood(pax({ path: huge }), entry({ name: 'short', data: 'x' })),
    code: 'E_TARBALL_NAME',
    message: `evil.tar: entry "${huge}" has a name of ${Buffer.byteLength(huge)} bytes, longer than 4096`,
  },
  {
    title: 'component longer than 255 bytes',
    source: 'evil.tar',
    data: withGood(pax({ path: `p/${'c'.repeat(300)}` }), entry({ name: 'short', data: 'x' })),
    code: 'E_TARBALL_NAME',
    message: `evil.tar: entry "p/${'c'.repeat(300)}" has a path component of 300 bytes, longer than 255`,
  },
  {
    title: 'name that is not UTF-8',
    source: 'evil.tar',
    data: withGood(entry({ name: Buffer.from('p/caf\xe9', 'latin1'), data: 'x' })),
    code: 'E_TARBALL_NAME',
    message: 'evil.tar: entry "p/caf\uFFFD" has a name that is not valid UTF-8 (shown with U+FFFD); only UTF-8 names can be stored reproducibly',
  },
  {
    title: 'zstd',
    source: 'evil.tar.zst',
    data: fixture('pkg.tar.zst'),
    code: 'E_TARBALL_FORMAT',
    message: 'evil.tar.zst: is zstd data, which weld does not read',
  },
  {
    title: 'zip',
    source: 'evil.zip',
    data: Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(100)]),
    code: 'E_TARBALL_FORMAT',
    message: 'evil.zip: is zip data, which weld does not read',
  },
  {
    title: 'not a tar archive',
    source: 'evil.tar',
    data: Buffer.from('<html>404 Not Found</html>\n'.repeat(100)),
    code: 'E_TARBALL_FORMAT',
    message: 'evil.tar: is not a tar archive (checksum failure in the first header)',
  },
  {
    title: 'gzip inside gzip',
    source: 'evil.tar.gz',
    data: zlib.gzipSync(zlib.gzipSync(goodTar)),
    code: 'E_TARBALL_FORMAT',
    message: 'evil.tar.gz: holds gzip data inside gzip data, not a tar archive',
  },
  {
    title: 'GNU sparse file',
    source: 'evil.tar',
    data: withGood(entry({ name: 'p/sparse', type: 'S', data: 'x' })),
    code: 'E_TARBALL_FORMAT',
    message: 'evil.tar: entry "p/sparse" is a GNU sparse file, which weld does not import',
  },
];

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => (tmp = tempDir('weld-tarball-refuse-')));
afterAll(() => tmp.cleanup());

describe('importTarball refuses', () => {
  it.each(cases.map((c) => [c.title, c] as const))('%s', async (_title, c) => {
    const gitdir = bareRepo(path.join(tmp.dir, c.title.replace(/\W+/g, '-')));
    // something already there, to show it is kept as it was
    const seeded = await importTarball({ gitdir, input: streamOf(tar(entry({ name: 'old/', type: '5' }), entry({ name: 'old/f', data: 'old\n' }))), source: 'old.tar' });
    expect(seeded.ok).toBe(true);
    const before = objectStore(gitdir);
    const r = await importTarball({ gitdir, input: streamOf(c.data, 4096), source: c.source });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect({ code: r.error.code, message: r.error.message, hint: r.error.hint }).toEqual({ code: c.code, message: c.message, hint: HINTS[c.code] });
    expect(objectStore(gitdir)).toEqual(before);
  });

  it('truncated xz (committed fixtures: no host xz needed)', async () => {
    const gitdir = bareRepo(path.join(tmp.dir, 'xz-truncated'));
    const before = objectStore(gitdir);
    const xz = fixture('pkg.tar.xz').subarray(0, 200);
    const r = await importTarball({ gitdir, input: streamOf(xz), source: 'evil.tar.xz' });
    expect(!r.ok && r.error.toJSON()).toEqual({
      code: 'E_TARBALL_CORRUPT',
      message: 'evil.tar.xz: the xz data is truncated or damaged',
      hint: HINTS['E_TARBALL_CORRUPT'],
      source: 'evil.tar.xz',
    });
    expect(objectStore(gitdir)).toEqual(before);
    // the xz decoder serialises its streams: neither a damaged one nor one left half
    // read after a refusal may block the next
    const unsafe = fixture('unsafe.tar.xz');
    const refused = await importTarball({ gitdir, input: streamOf(unsafe), source: 'evil.tar.xz' });
    expect(!refused.ok && refused.error.code).toBe('E_TARBALL_UNSAFE_PATH');
    const ok = await importTarball({ gitdir, input: streamOf(fixture('pkg.tar.xz')), source: 'good.tar.xz' });
    expect(ok.ok).toBe(true);
  });

  it('an input stream that fails half way: E_TARBALL_READ, nothing written', async () => {
    const gitdir = bareRepo(path.join(tmp.dir, 'read-failure'));
    const before = objectStore(gitdir);
    async function* failing() {
      yield goodTar.subarray(0, 100_000);
      throw new Error('socket hang up');
    }
    const r = await importTarball({ gitdir, input: Readable.from(failing(), { objectMode: false }), source: 'https://example.invalid/p.tar' });
    expect(!r.ok && r.error.toJSON()).toEqual({
      code: 'E_TARBALL_READ',
      message: 'https://example.invalid/p.tar: reading failed: socket hang up',
      hint: HINTS['E_TARBALL_READ'],
      source: 'https://example.invalid/p.tar',
    });
    expect(objectStore(gitdir)).toEqual(before);
  });

  it('a repository without objects/pack: E_TARBALL_WRITE', async () => {
    const gitdir = path.join(tmp.dir, 'not-a-repo');
    const r = await importTarball({ gitdir, input: streamOf(goodTar), source: 'p.tar' });
    expect(!r.ok && r.error.code).toBe('E_TARBALL_WRITE');
    expect(!r.ok && r.error.message).toMatch(/^p\.tar: writing objects into .*not-a-repo failed: ENOENT/);
  });

  it('errors serialise with code, source and entry', async () => {
    const gitdir = bareRepo(path.join(tmp.dir, 'json'));
    const r = await importTarball({ gitdir, input: streamOf(withGood(entry({ name: 'p/../x', data: 'x' }))), source: 'evil.tar' });
    expect(!r.ok && r.error.toJSON()).toEqual({
      code: 'E_TARBALL_UNSAFE_PATH',
      message: 'evil.tar: entry "p/../x" has a ".." component, which would leave the tree',
      hint: HINTS['E_TARBALL_UNSAFE_PATH'],
      source: 'evil.tar',
      entry: 'p/../x',
    });
  });
});

// keeps the raw header builder honest: GNU tar must read what the tests write
it('the raw tar writer produces archives GNU tar lists', () => {
  const listed = execFileSync('tar', ['-tvf', '-'], { input: tar(GOOD, header({ name: 'p/x', size: 0 })) , encoding: 'utf8' });
  expect(listed.split('\n').filter(Boolean).map((l) => l.split(/\s+/).at(-1))).toEqual(['p/', 'p/README', 'p/big.txt', 'p/blob.bin', 'p/x']);
});
