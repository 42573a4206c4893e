import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readTar } from '../../src/archive/tar-read.js';
import { writeTreeTar } from '../../src/archive/tar-tree.js';

// The pack prefix tar: the archive module's writer, checked against GNU tar (which
// reads it back) and against itself (the same tree made another way, the same bytes).

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const temp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'weld-tar-tree-'));
  dirs.push(d);
  return d;
};

const LONG = `include/${'very-long-directory-name/'.repeat(5)}header.h`;

/** A prefix like a pack's: libraries with soname links, a hard link, an executable, a long path. */
function makePrefix(root: string, order: 'forward' | 'backward', mtime: number): void {
  const steps: Array<() => void> = [
    () => mkdirSync(path.join(root, 'lib'), { recursive: true }),
    () => writeFileSync(path.join(root, 'lib/libyaml-0.so.2.0.9'), Buffer.alloc(70_000, 7)),
    () => symlinkSync('libyaml-0.so.2.0.9', path.join(root, 'lib/libyaml-0.so.2')),
    () => mkdirSync(path.join(root, 'bin'), { recursive: true }),
    () => writeFileSync(path.join(root, 'bin/tool'), '#!/bin/sh\necho tool\n', { mode: 0o755 }),
    () => linkSync(path.join(root, 'bin/tool'), path.join(root, 'bin/tool-alias')),
    () => mkdirSync(path.dirname(path.join(root, LONG)), { recursive: true }),
    () => writeFileSync(path.join(root, LONG), '#define YAML 1\n'),
  ];
  for (const s of order === 'forward' ? steps : steps.reverse()) {
    try {
      s();
    } catch {
      steps.push(s); // a step whose directory comes later: retry at the end
    }
  }
  chmodSync(path.join(root, 'bin/tool'), 0o755);
  for (const f of ['lib/libyaml-0.so.2.0.9', 'bin/tool', LONG]) utimesSync(path.join(root, f), mtime, mtime);
}

describe('writeTreeTar', () => {
  it('writes a tar GNU tar reads back: contents, modes, symlinks, hard links, long names', async () => {
    const root = temp();
    const prefix = path.join(root, 'prefix');
    makePrefix(prefix, 'forward', 1_000);
    const file = path.join(root, 'prefix.tar');
    const r = await writeTreeTar({ dir: prefix, mtime: 1_700_000_000, file });
    expect(r.ok && r.value.entries).toBe(13);
    const out = path.join(root, 'out');
    mkdirSync(out);
    execFileSync('tar', ['-x', '-f', file, '-C', out]);
    expect(readFileSync(path.join(out, 'lib/libyaml-0.so.2.0.9')).equals(Buffer.alloc(70_000, 7))).toBe(true);
    expect(readlinkSync(path.join(out, 'lib/libyaml-0.so.2'))).toBe('libyaml-0.so.2.0.9');
    expect(statSync(path.join(out, 'bin/tool')).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(out, 'bin/tool-alias')).ino).toBe(statSync(path.join(out, 'bin/tool')).ino);
    expect(readFileSync(path.join(out, LONG), 'utf8')).toBe('#define YAML 1\n');
    expect(statSync(path.join(out, 'bin/tool')).mtimeMs).toBe(1_700_000_000_000);
    const listed = readTar(readFileSync(file));
    expect('entries' in listed && listed.entries.map((e) => `${e.typeflag} ${e.path}`)).toEqual([
      '5 bin/',
      '0 bin/tool',
      '1 bin/tool-alias',
      '5 include/',
      ...[1, 2, 3, 4, 5].map((n) => `5 include/${'very-long-directory-name/'.repeat(n)}`),
      `0 ${LONG}`,
      '5 lib/',
      '2 lib/libyaml-0.so.2',
      '0 lib/libyaml-0.so.2.0.9',
    ]);
  });

  it('gives the same bytes for the same tree made in another order at another time', async () => {
    const [a, b] = [temp(), temp()];
    makePrefix(a, 'forward', 1_000);
    makePrefix(b, 'backward', 2_000_000);
    const fa = path.join(temp(), 'a.tar');
    const fb = path.join(temp(), 'b.tar');
    expect((await writeTreeTar({ dir: a, mtime: 42, file: fa })).ok).toBe(true);
    expect((await writeTreeTar({ dir: b, mtime: 42, file: fb })).ok).toBe(true);
    expect(readFileSync(fa).equals(readFileSync(fb))).toBe(true);
  });

  it('refuses a fifo with a value naming it, and leaves no archive claimed', async () => {
    const root = temp();
    mkdirSync(path.join(root, 'p'));
    execFileSync('mkfifo', [path.join(root, 'p', 'pipe')]);
    const r = await writeTreeTar({ dir: path.join(root, 'p'), mtime: 0, file: path.join(root, 'p.tar') });
    expect(!r.ok && r.error.toJSON()).toEqual({
      code: 'E_TAR_SOURCE',
      message: `cannot pack ${path.join(root, 'p', 'pipe')}: it is a device, fifo or socket`,
      hint: 'a packed tree holds regular files, directories and symlinks, all readable',
    });
  });
});
