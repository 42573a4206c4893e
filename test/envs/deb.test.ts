import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDeb, safeRelative } from '../../src/envs/deb.js';
import { padding, TAR_END, tarHeader } from '../../src/archive/tar-write.js';
import { arArchive, buildDeb } from '../helpers/debs.js';
import { tempDir } from '../helpers/store-temp.js';

const LONG = `usr/share/doc/weld-test/${'very-long-directory-name/'.repeat(5)}file.txt`;

describe('reading .debs', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await tempDir('weld-deb-')));
  afterAll(() => cleanup());

  it.each(['xz', 'gzip', 'zstd', 'none'] as const)('reads files, modes, symlinks, hardlinks and long names from a data.tar (%s)', async (compression) => {
    const { bytes } = buildDeb({
      dir: path.join(dir, compression),
      name: 'hello',
      compression,
      files: [
        { path: 'usr/bin/hello', content: '#!/bin/sh\necho hi\n', mode: 0o755 },
        { path: 'usr/bin/hello-again', hardlink: 'usr/bin/hello' },
        { path: 'usr/bin/su-ish', content: 'x', mode: 0o4755 },
        { path: 'usr/bin/hi', symlink: 'hello' },
        { path: LONG, content: 'long' },
      ],
    });
    const r = await readDeb({ name: 'hello.deb', bytes, scratch: path.join(dir, `scratch-${compression}`) });
    if (!r.ok) throw r.error;
    const by = new Map(r.value.map((e) => [e.path, e]));
    expect(by.get('usr/bin/hello')).toMatchObject({ type: 'file', mode: 0o755 });
    expect(by.get('usr/bin/hello')!.data!.toString()).toBe('#!/bin/sh\necho hi\n');
    expect(by.get('usr/bin/su-ish')).toMatchObject({ type: 'file', mode: 0o4755 });
    expect(by.get('usr/bin/hi')).toMatchObject({ type: 'symlink', link: 'hello' });
    expect(by.get('usr/bin/hello-again')).toMatchObject({ type: 'hardlink', link: 'usr/bin/hello' });
    expect(by.get(LONG)!.data!.toString()).toBe('long');
    expect(by.get('usr')).toMatchObject({ type: 'dir', mode: 0o755 });
    expect(r.value.some((e) => e.path === '' || e.path.startsWith('./'))).toBe(false);
  });

  const tarOf = (entries: Array<{ path: string; type: 'file' | 'symlink' | 'hardlink' | 'dir'; link?: string; data?: string }>) =>
    Buffer.concat([
      ...entries.flatMap((e) => {
        const data = Buffer.from(e.data ?? '');
        return [tarHeader({ path: e.path, type: e.type, mode: 0o644, size: data.length, mtime: 0, ...(e.link ? { link: e.link } : {}) }), data, padding(data.length)];
      }),
      TAR_END,
    ]);
  const debWith = (tar: Buffer, member = 'data.tar') => arArchive([{ name: 'debian-binary', data: Buffer.from('2.0\n') }, { name: 'control.tar', data: tarOf([]) }, { name: member, data: tar }]);

  it.each([
    ['../../etc/cron.d/evil', 'it contains ".."'],
    ['/etc/passwd', 'it is absolute'],
    ['./usr/../../x', 'it contains ".."'],
  ])('refuses the entry %s', async (entry, reason) => {
    const r = await readDeb({ name: 'evil.deb', bytes: debWith(tarOf([{ path: './usr/', type: 'dir' }, { path: entry, type: 'file', data: 'x' }])), scratch: path.join(dir, 'scratch-evil') });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('E_DEB_UNSAFE_PATH');
    expect(r.error.message).toBe(`evil.deb: refusing entry "${entry}": ${reason}`);
  });

  it('refuses a hardlink that points outside the root', async () => {
    const r = await readDeb({ name: 'evil.deb', bytes: debWith(tarOf([{ path: './usr/x', type: 'hardlink', link: '../../etc/shadow' }])), scratch: path.join(dir, 'scratch-hl') });
    expect(!r.ok && r.error.message).toBe('evil.deb: refusing entry "./usr/x": hardlink target "../../etc/shadow": it contains ".."');
  });

  it('says what is wrong with something that is not a .deb', async () => {
    const notAr = await readDeb({ name: 'x.deb', bytes: Buffer.from('hello'), scratch: path.join(dir, 's1') });
    expect(!notAr.ok && notAr.error.message).toBe('x.deb: not an ar archive (no "!<arch>" magic)');
    const noData = await readDeb({ name: 'y.deb', bytes: arArchive([{ name: 'debian-binary', data: Buffer.from('2.0\n') }]), scratch: path.join(dir, 's2') });
    expect(!noData.ok && noData.error.message).toBe('y.deb: no data.tar.* member (members: debian-binary)');
    const bad = await readDeb({ name: 'z.deb', bytes: debWith(Buffer.from('not xz at all'), 'data.tar.xz'), scratch: path.join(dir, 's3') });
    expect(!bad.ok && bad.error.code).toBe('E_DEB_FORMAT');
    expect(!bad.ok && bad.error.message).toMatch(/^z\.deb: data\.tar\.xz does not decompress: .*xz -dc failed/);
  });

  it('normalises paths and keeps only safe ones', () => {
    expect(safeRelative('./usr//bin/./x')).toEqual({ path: 'usr/bin/x' });
    expect(safeRelative('a/../b')).toEqual({ unsafe: 'it contains ".."' });
  });

  it('writes tar headers GNU tar reads back, long names included', () => {
    const file = path.join(dir, 'w.tar');
    mkdirSync(dir, { recursive: true });
    const data = Buffer.from('content');
    writeFileSync(file, Buffer.concat([tarHeader({ path: LONG, type: 'file', mode: 0o640, size: data.length, mtime: 315532800 }), data, padding(data.length), tarHeader({ path: 'l', type: 'symlink', mode: 0o777, link: LONG, mtime: 315532800 }), TAR_END]));
    const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvf', file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
    expect(listing).toBe(`-rw-r----- 0/0               7 1980-01-01 00:00:00 ${LONG}\nlrwxrwxrwx 0/0               0 1980-01-01 00:00:00 l -> ${LONG}\n`);
  });
});
