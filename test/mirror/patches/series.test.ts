import { chmodSync, mkdirSync, mkdtempSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyPatchSeries, type PatchInput, type SeriesResult } from '../../../src/mirror/patches/series.js';
import {
  WELD,
  commit,
  fixture,
  formatPatches,
  fsck,
  git,
  nativeTrees,
  numbered,
  plainDiff,
  refs,
  treeOf,
  writeFiles,
  type Fixture,
} from './fixture.js';

// Every success case is checked against native git: the tree after each patch must
// be the tree `git apply --index` makes, the commit ids must not change between two
// runs and two fresh repositories, no ref may move, and git fsck --strict is clean.

type Build = () => { fx: Fixture; patches: PatchInput[] };

async function series(fx: Fixture, patches: PatchInput[]): Promise<SeriesResult> {
  const r = await applyPatchSeries({ gitdir: fx.gitdir, base: fx.base, patches, committer: WELD, baseName: 'upstream/1.0' });
  if (!r.ok) throw new Error(`expected success: ${r.error.message}`);
  return r.value;
}

async function checkAgainstGit(build: Build): Promise<{ fx: Fixture; result: SeriesResult; patches: PatchInput[] }> {
  const { fx, patches } = build();
  const before = refs(fx.gitdir);
  const result = await series(fx, patches);
  expect(refs(fx.gitdir)).toBe(before);
  expect(result.commits.map((c) => c.patch)).toEqual(patches.map((p) => p.name));
  const native = nativeTrees(fx, patches);
  expect(result.commits.map((c) => treeOf(fx.gitdir, c.oid))).toEqual(native);
  expect(result.tree).toBe(native.at(-1));
  expect(treeOf(fx.gitdir, result.head)).toBe(result.tree);
  expect(fsck(fx.gitdir, result.head)).toBe('');

  // Same inputs, same ids: once more here, and in a repository built from scratch.
  expect(await series(fx, patches)).toEqual(result);
  const other = build();
  try {
    expect(other.fx.base).toBe(fx.base);
    expect(await series(other.fx, other.patches)).toEqual(result);
  } finally {
    other.fx.cleanup();
  }
  return { fx, result, patches };
}

function cases(name: string, build: Build, extra?: (r: { fx: Fixture; result: SeriesResult; patches: PatchInput[] }) => void) {
  it(name, async () => {
    const r = await checkAgainstGit(build);
    try {
      extra?.(r);
    } finally {
      r.fx.cleanup();
    }
  });
}

const show = (fx: Fixture, rev: string, format: string) => git(fx.gitdir, ['show', '-s', `--format=${format}`, rev]);

describe('applyPatchSeries writes little', () => {
  it('rewrites only the trees from a changed file to the root', async () => {
    const fx = fixture({ 'a/b/c/file.txt': numbered(5), 'a/b/other.txt': 'o\n', 'x/y/z.txt': 'z\n', 'top.txt': 't\n' });
    try {
      commit(fx, { message: 'deep edit', change: (w) => writeFiles(w, { 'a/b/c/file.txt': numbered(5).replace('line 2\n', 'two\n') }) });
      const patches = formatPatches(fx);
      const count = () => Number(/^(\d+) objects/.exec(git(fx.gitdir, ['count-objects']))![1]);
      const before = count();
      const result = await series(fx, patches);
      // one blob, the trees a/b/c, a/b, a and the root, and the commit
      expect(count() - before).toBe(6);
      expect(git(fx.gitdir, ['rev-parse', `${result.head}:x`])).toBe(git(fx.gitdir, ['rev-parse', `${fx.base}:x`]));
    } finally {
      fx.cleanup();
    }
  });
});

describe('applyPatchSeries matches native git', () => {
  cases(
    'modifies a file with several hunks, with the author, date and message of the mail',
    () => {
      const fx = fixture({ 'setup.py': numbered(60), 'README': 'hello\n' });
      commit(fx, {
        message: 'Fix the build on s390x\n\nThe old flags broke big-endian builds.\n\nSigned-off-by: Jane Doe <jane@example.org>',
        author: 'Jane Doe <jane@example.org>',
        date: '2024-02-03T04:05:06-0700',
        change: (w) =>
          writeFiles(w, {
            'setup.py': numbered(60)
              .replace('line 3\n', 'line 3 changed\n')
              .replace('line 30\n', 'line 30\nline 30.5\n')
              .replace('line 55\n', ''),
          }),
      });
      return { fx, patches: formatPatches(fx) };
    },
    ({ fx, result, patches }) => {
      const commit = result.commits[0]!.oid;
      expect(show(fx, commit, '%an|%ae|%ad|%cn|%ce|%cd')).toBe(
        'Jane Doe|jane@example.org|Sat Feb 3 04:05:06 2024 -0700|weld|weld@weld.invalid|Sat Feb 3 04:05:06 2024 -0700\n',
      );
      // git am makes the same author, date and message from the same mail.
      const clone = mkdtempSync(path.join(fx.root, 'am-'));
      git(fx.root, ['clone', '-q', fx.gitdir, clone]);
      const file = path.join(fx.root, 'am.patch');
      writeFileSync(file, patches[0]!.text);
      git(clone, ['am', '-q', file]);
      expect(show(fx, commit, '%an|%ae|%ad|%B')).toBe(git(clone, ['show', '-s', '--format=%an|%ae|%ad|%B', 'HEAD']));
      expect(show(fx, commit, '%B')).toBe(
        'Fix the build on s390x\n\nThe old flags broke big-endian builds.\n\nSigned-off-by: Jane Doe <jane@example.org>\n\n',
      );
    },
  );

  cases('applies a hunk at an offset, as git apply does', () => {
    // The patch is made against 1.0, then applied to a base with 7 more lines on top.
    const made = fixture({ 'main.c': numbered(40) });
    commit(made, { message: 'tweak line 20', change: (w) => writeFiles(w, { 'main.c': numbered(40).replace('line 20\n', 'line twenty\n') }) });
    const patches = formatPatches(made);
    made.cleanup();
    return { fx: fixture({ 'main.c': numbered(7, 'header') + numbered(40) }), patches };
  });

  cases(
    'creates a new file, and a nested new directory',
    () => {
      const fx = fixture({ 'README': 'hello\n' });
      commit(fx, {
        message: 'add files',
        change: (w) => writeFiles(w, { 'NEWS': 'news\n', 'src/weld/deep/er/mod.py': 'x = 1\n', 'tools/run.sh': { content: '#!/bin/sh\necho hi\n', exec: true } }),
      });
      return { fx, patches: formatPatches(fx) };
    },
    ({ fx, result }) => {
      expect(git(fx.gitdir, ['ls-tree', '-r', result.head])).toContain('100755 blob');
    },
  );

  cases('deletes files and removes the directories they leave empty', () => {
    const fx = fixture({ 'README': 'hello\n', 'old/only/gone.txt': numbered(5), 'old/keep.txt': 'keep\n', 'empty-file': '' });
    commit(fx, {
      message: 'drop files',
      change: (w) => {
        unlinkSync(path.join(w, 'old/only/gone.txt'));
        unlinkSync(path.join(w, 'empty-file'));
      },
    });
    return { fx, patches: formatPatches(fx) };
  });

  cases('renames files, with and without changes', () => {
    const fx = fixture({ 'a/old.py': numbered(30), 'b.txt': numbered(20, 'b') });
    commit(fx, {
      message: 'move things',
      change: (w) => {
        mkdirSync(path.join(w, 'pkg/new'), { recursive: true });
        renameSync(path.join(w, 'a/old.py'), path.join(w, 'pkg/new/mod.py'));
        writeFiles(w, { 'c.txt': numbered(20, 'b').replace('b 10\n', 'b ten\n') });
        unlinkSync(path.join(w, 'b.txt'));
      },
    });
    const patches = formatPatches(fx, ['-M']);
    expect(patches[0]!.text).toContain('rename from a/old.py');
    expect(patches[0]!.text).toContain('similarity index');
    return { fx, patches };
  });

  cases('changes file modes both ways', () => {
    const fx = fixture({ 'run.sh': '#!/bin/sh\n', 'tool': { content: '#!/bin/sh\necho\n', exec: true } });
    commit(fx, {
      message: 'fix modes',
      change: (w) => {
        chmodSync(path.join(w, 'run.sh'), 0o755);
        chmodSync(path.join(w, 'tool'), 0o644);
        writeFiles(w, { 'tool': '#!/bin/sh\necho changed\n' });
        chmodSync(path.join(w, 'tool'), 0o644);
      },
    });
    const patches = formatPatches(fx);
    expect(patches[0]!.text).toContain('old mode 100644\nnew mode 100755');
    return { fx, patches };
  });

  cases('handles files without a newline at the end', () => {
    const fx = fixture({ 'a.txt': 'one\ntwo', 'b.txt': 'one\ntwo\n', 'c.txt': 'x\ny', 'd.txt': 'keep\nlast' });
    commit(fx, {
      message: 'newlines',
      change: (w) => writeFiles(w, { 'a.txt': 'one\ntwo\n', 'b.txt': 'one\ntwo', 'c.txt': 'x\nz', 'd.txt': 'new\nkeep\nlast', 'e.txt': 'no newline' }),
    });
    const patches = formatPatches(fx);
    expect(patches[0]!.text).toContain('\\ No newline at end of file');
    return { fx, patches };
  });

  cases(
    'applies a Debian DEP-3 quilt patch, with its description, author and date',
    () => {
      const fx = fixture({ 'configure.ac': numbered(20), 'src/x.c': numbered(12, 'x') });
      const diff = plainDiff(fx, (d) => writeFiles(d, { 'configure.ac': numbered(20).replace('line 8\n', 'line 8 s390x\n') }));
      const text = [
        'Description: detect s390x in configure',
        ' The upstream check only knows x86 and arm.',
        ' .',
        ' Second paragraph.',
        'Author: Zoë Maintainer <zoe@debian.invalid>',
        'Origin: vendor',
        'Bug-Debian: https://bugs.debian.org/1234',
        'Forwarded: not-needed',
        'Last-Update: 2023-11-05',
        '---',
        'This patch header follows DEP-3: http://dep.debian.net/deps/dep3/',
        diff,
      ].join('\n');
      expect(diff).toMatch(/^diff -ruN pkg.orig\/configure.ac pkg\/configure.ac\n--- pkg.orig\/configure.ac\t/);
      return { fx, patches: [{ name: 'detect-s390x.patch', text }] };
    },
    ({ fx, result }) => {
      expect(show(fx, result.head, '%an|%ae|%ad|%cn|%B')).toBe(
        [
          'Zoë Maintainer|zoe@debian.invalid|Sun Nov 5 00:00:00 2023 +0000|weld|detect s390x in configure',
          '',
          'The upstream check only knows x86 and arm.',
          '',
          'Second paragraph.',
          '',
          'Origin: vendor',
          'Bug-Debian: https://bugs.debian.org/1234',
          'Forwarded: not-needed',
          'Last-Update: 2023-11-05',
          '',
          '',
        ].join('\n'),
      );
    },
  );

  cases(
    'applies a bare diff -ruN with no header, new and deleted files included',
    () => {
      const fx = fixture({ 'Makefile': numbered(10), 'obsolete.txt': 'gone\n' });
      const text = plainDiff(fx, (d) => {
        writeFiles(d, { 'Makefile': numbered(10).replace('line 2\n', 'line 2\nCFLAGS += -fPIC\n'), 'docs/new.md': '# new\n' });
        unlinkSync(path.join(d, 'obsolete.txt'));
      });
      expect(text).toContain('--- pkg.orig/docs/new.md\t1970-01-01');
      return { fx, patches: [{ name: 'fix-makefile.diff', text }] };
    },
    ({ fx, result }) => {
      // The base commit's date stands in for the missing one; the weld identity for the author.
      expect(show(fx, result.head, '%an|%ae|%ad|%cd|%B')).toBe(
        'weld|weld@weld.invalid|Thu Jun 1 12:00:00 2023 +0200|Thu Jun 1 12:00:00 2023 +0200|Apply fix-makefile.diff\n\n',
      );
    },
  );

  cases(
    'takes authors and messages from a numbered series exactly as git am does',
    () => {
      const fx = fixture({ 'a.txt': numbered(10) });
      commit(fx, {
        message: `${'Handle the long and winding road of configure checks on IBM Z '.repeat(2).trim()}\n\nWhy: because.`,
        author: 'Łukasz Ünïcode <lukasz@example.org>',
        date: '2024-03-04T05:06:07+0545',
        change: (w) => writeFiles(w, { 'a.txt': numbered(10).replace('line 1\n', 'line one\n') }),
      });
      commit(fx, {
        message: '[meson] keep this tag',
        author: '"Doe, Jane" <jane@example.org>',
        date: '2024-03-05T00:00:00-0330',
        change: (w) => writeFiles(w, { 'a.txt': numbered(10).replace('line 1\n', 'line one\n').replace('line 9\n', 'line nine\n') }),
      });
      const patches = formatPatches(fx, ['--numbered']);
      expect(patches[0]!.text).toMatch(/^From: =\?UTF-8\?q\?/m);
      expect(patches[0]!.text).toMatch(/^Subject: \[PATCH 1\/2\] .*\n .*/m);
      return { fx, patches };
    },
    ({ fx, result, patches }) => {
      const clone = mkdtempSync(path.join(fx.root, 'am-'));
      git(fx.root, ['clone', '-q', fx.gitdir, clone]);
      for (const p of patches) writeFileSync(path.join(fx.root, p.name), p.text);
      // weld keeps bracketed tags other than [PATCH ...] in subjects.
      git(clone, ['am', '-q', '--keep-non-patch', ...patches.map((p) => path.join(fx.root, p.name))]);
      const format = '%an|%ae|%ad|%B';
      const ours = result.commits.map((c) => show(fx, c.oid, format));
      const native = ['HEAD~1', 'HEAD'].map((rev) => git(clone, ['show', '-s', `--format=${format}`, rev]));
      expect(ours).toEqual(native);
      expect(ours[1]).toBe('Doe, Jane|jane@example.org|Tue Mar 5 00:00:00 2024 -0330|[meson] keep this tag\n\n');
    },
  );

  cases('keeps CRLF lines and non-UTF-8 bytes byte for byte', () => {
    const latin1 = Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from('\n'), Buffer.from(numbered(20))]);
    const fx = fixture({ 'win.txt': 'one\r\ntwo\r\nthree\r\n', 'latin1.txt': latin1 });
    commit(fx, {
      message: 'edit',
      change: (w) =>
        writeFiles(w, {
          'win.txt': 'one\r\n2\r\nthree\r\n',
          'latin1.txt': Buffer.concat([latin1.subarray(0, 5), Buffer.from(numbered(20).replace('line 18\n', 'line 18!\n'))]),
        }),
    });
    return { fx, patches: formatPatches(fx) };
  });

  cases('creates and retargets symlinks', () => {
    const fx = fixture({ 'target-a': 'a\n', 'target-b': 'b\n' });
    commit(fx, { message: 'link', change: (w) => symlinkSync('target-a', path.join(w, 'link')) });
    commit(fx, {
      message: 'relink',
      change: (w) => {
        unlinkSync(path.join(w, 'link'));
        symlinkSync('target-b', path.join(w, 'link'));
      },
    });
    const patches = formatPatches(fx);
    expect(patches[0]!.text).toContain('new file mode 120000');
    return { fx, patches };
  });

  cases(
    'applies a series of three, each on the last',
    () => {
      const fx = fixture({ 'lib.c': numbered(30), 'Makefile': 'all:\n\tcc lib.c\n' });
      commit(fx, { message: 'one', date: '2024-01-01T00:00:00+0000', change: (w) => writeFiles(w, { 'lib.c': numbered(30).replace('line 5\n', 'line 5a\n') }) });
      commit(fx, { message: 'two', date: '2024-01-02T00:00:00+0100', change: (w) => writeFiles(w, { 'Makefile': 'all:\n\tcc -O2 lib.c\n', 'lib.h': 'int f(void);\n' }) });
      commit(fx, {
        message: 'three',
        date: '2024-01-03T00:00:00-0500',
        change: (w) => writeFiles(w, { 'lib.c': numbered(30).replace('line 5\n', 'line 5b\n').replace('line 25\n', '') }),
      });
      const patches = formatPatches(fx);
      expect(patches.map((p) => p.name)).toEqual(['0001-one.patch', '0002-two.patch', '0003-three.patch']);
      return { fx, patches };
    },
    ({ fx, result }) => {
      const [c1, c2, c3] = result.commits.map((c) => c.oid);
      expect(show(fx, c3!, '%P')).toBe(`${c2}\n`);
      expect(show(fx, c2!, '%P')).toBe(`${c1}\n`);
      expect(show(fx, c1!, '%P')).toBe(`${fx.base}\n`);
      expect(result.head).toBe(c3);
      expect(show(fx, result.head, '%s|%ad')).toBe('three|Wed Jan 3 00:00:00 2024 -0500\n');
    },
  );
});
