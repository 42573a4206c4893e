import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyPatchSeries, type PatchError, type PatchInput } from '../../../src/mirror/patches/series.js';
import { WELD, commit, fixture, formatPatches, git, numbered, objectCount, refs, writeFiles, type Fixture } from './fixture.js';

// A series that does not apply is an error naming the patch, the file and the hunk,
// and leaves the repository exactly as it was: no ref, and not even an object.

const fixtures: Fixture[] = [];
afterEach(() => {
  for (const fx of fixtures.splice(0)) fx.cleanup();
});
function fx(files: Parameters<typeof fixture>[0]): Fixture {
  const f = fixture(files);
  fixtures.push(f);
  return f;
}

async function fails(f: Fixture, patches: PatchInput[], base = f.base): Promise<PatchError> {
  const before = { refs: refs(f.gitdir), objects: objectCount(f.gitdir) };
  const r = await applyPatchSeries({ gitdir: f.gitdir, base, patches, committer: WELD, baseName: 'upstream/1.0' });
  if (r.ok) throw new Error('expected the series to fail');
  expect({ refs: refs(f.gitdir), objects: objectCount(f.gitdir) }).toEqual(before);
  return r.error;
}

const diff = (name: string, body: string): PatchInput => ({ name, text: body });

describe('applyPatchSeries failures', () => {
  it('names the patch, file and hunk of a conflict, after earlier patches applied', async () => {
    // Patches made against one setup.py, applied to an upstream where line 44 changed.
    const made = fx({ 'README': 'hello\n', 'setup.py': numbered(60) });
    commit(made, { message: 'readme', change: (w) => writeFiles(w, { 'README': 'hello s390x\n' }) });
    commit(made, {
      message: 'fix build',
      change: (w) => writeFiles(w, { 'setup.py': numbered(60).replace('line 3\n', 'line 3 fixed\n').replace('line 42\n', 'line 42\nextra\n') }),
    });
    const patches = formatPatches(made);
    expect(patches[1]!.text).toContain('@@ -40,6 +40,7 @@');
    patches[1]!.name = '0002-fix-build.patch';
    const upstream = fx({ 'README': 'hello\n', 'setup.py': numbered(60).replace('line 44\n', 'line 44 moved on\n') });

    const e = await fails(upstream, patches);
    expect(e.code).toBe('E_PATCH_CONFLICT');
    expect(e.message).toBe('0002-fix-build.patch: setup.py: hunk 2 (@@ -40,6 +40,7 @@) does not apply');
    expect(e.hint).toBe(
      'refresh 0002-fix-build.patch against upstream/1.0: apply the series there (git am or quilt push), resolve the problem, and regenerate the patch (git format-patch or quilt refresh)',
    );
    expect(e.toJSON()).toMatchObject({ code: 'E_PATCH_CONFLICT', patch: '0002-fix-build.patch', file: 'setup.py', hunk: 2, hunkHeader: '@@ -40,6 +40,7 @@' });
    // Native git agrees that it does not apply.
    const file = path.join(upstream.root, 'p.patch');
    writeFileSync(file, patches[1]!.text);
    expect(() => git(upstream.work, ['apply', '--check', file])).toThrow();
  });

  it('does not apply a hunk whose context moved only by fuzz', async () => {
    const f = fx({ 'a.txt': 'one\ntwo\nthree\nfour\nfive\n' });
    const e = await fails(f, [
      diff('fuzzy.patch', '--- a/a.txt\n+++ b/a.txt\n@@ -2,3 +2,4 @@\n two\n-three\n+THREE\n+3\n fore\n'),
    ]);
    expect(e.message).toBe('fuzzy.patch: a.txt: hunk 1 (@@ -2,3 +2,4 @@) does not apply');
  });

  it('reports a patch for a file that is not there', async () => {
    const f = fx({ 'README': 'hi\n' });
    const e = await fails(f, [diff('0001-x.patch', 'diff --git a/gone.py b/gone.py\n--- a/gone.py\n+++ b/gone.py\n@@ -1 +1 @@\n-a\n+b\n')]);
    expect(e.code).toBe('E_PATCH_MISSING_FILE');
    expect(e.message).toBe('0001-x.patch: gone.py: no such file to patch');
    expect(e.toJSON()).toMatchObject({ file: 'gone.py', patch: '0001-x.patch' });
  });

  it('reports a new file that already exists, and a rename onto one', async () => {
    const f = fx({ 'NEWS': 'old\n', 'a.txt': 'a\n' });
    const create = await fails(f, [
      diff('new.patch', 'diff --git a/NEWS b/NEWS\nnew file mode 100644\nindex 0000000..3e75765\n--- /dev/null\n+++ b/NEWS\n@@ -0,0 +1 @@\n+new\n'),
    ]);
    expect(create.code).toBe('E_PATCH_EXISTS');
    expect(create.message).toBe('new.patch: NEWS: already exists');
    const rename = await fails(f, [
      diff('mv.patch', 'diff --git a/a.txt b/NEWS\nsimilarity index 100%\nrename from a.txt\nrename to NEWS\n'),
    ]);
    expect(rename.message).toBe('mv.patch: NEWS: already exists');
    const under = await fails(f, [diff('nest.patch', '--- /dev/null\n+++ b/NEWS/x\n@@ -0,0 +1 @@\n+x\n')]);
    expect(under.message).toBe('nest.patch: NEWS/x: cannot be created: NEWS is a file, not a directory');
  });

  it('refuses to delete a file whose content the patch does not match', async () => {
    const f = fx({ 'a.txt': 'one\ntwo\n' });
    const e = await fails(f, [
      diff('rm.patch', 'diff --git a/a.txt b/a.txt\ndeleted file mode 100644\n--- a/a.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-one\n'),
    ]);
    expect(e.code).toBe('E_PATCH_CONFLICT');
    expect(e.message).toBe('rm.patch: a.txt: the file has lines the patch does not delete, so it cannot be removed');
    const empty = await fails(f, [diff('rm-empty.patch', 'diff --git a/a.txt b/a.txt\ndeleted file mode 100644\nindex e69de29..0000000\n')]);
    expect(empty.message).toBe('rm-empty.patch: a.txt: the file has lines the patch does not delete, so it cannot be removed');
  });

  it('reports binary patches as not supported', async () => {
    const made = fx({ 'README': 'hi\n' });
    commit(made, { message: 'add logo', change: (w) => writeFiles(w, { 'img/logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3, 0, 255]) }) });
    const [withData] = formatPatches(made, ['--binary']);
    expect(withData!.text).toContain('GIT binary patch');
    const e = await fails(made, [withData!]);
    expect(e.code).toBe('E_PATCH_BINARY');
    expect(e.message).toBe('0001-add-logo.patch: img/logo.png: binary patches are not supported');
    const [withoutData] = formatPatches(made, ['--no-binary']);
    expect(withoutData!.text).toContain('Binary files /dev/null and b/img/logo.png differ');
    expect((await fails(made, [withoutData!])).message).toBe('0001-add-logo.patch: img/logo.png: binary patches are not supported');
  });

  it('reports empty and garbage patches', async () => {
    const f = fx({ 'README': 'hi\n' });
    for (const text of ['', 'this is not a patch\nat all\n', 'Subject: [PATCH] only words\n\nno diff here\n']) {
      const e = await fails(f, [diff('junk.patch', text)]);
      expect(e.code).toBe('E_PATCH_EMPTY');
      expect(e.message).toBe('junk.patch: contains no diff (no "diff --git", "---/+++" or "@@" lines were found)');
    }
  });

  it('reports malformed diffs with the line they are on', async () => {
    const f = fx({ 'README': 'hi\n' });
    const bad = await fails(f, [diff('bad.patch', 'Subject: x\n\n--- a/README\n+++ b/README\n@@ -1,2 +1,2 @@\n-hi\n+ho\n')]);
    expect(bad.code).toBe('E_PATCH_PARSE');
    expect(bad.message).toBe('bad.patch: the patch ends inside the hunk at line 5: it has fewer lines than its @@ header counts');
    const counts = await fails(f, [diff('count.patch', '--- a/README\n+++ b/README\n@@ -1 +1 @@\n-hi\n+ho\n+more\n')]);
    expect(counts.message).toBe('count.patch: Hunk at line 3 has more lines than expected (expected 1 old lines and 1 new lines)');
    const escape = await fails(f, [diff('evil.patch', '--- a/../../etc/passwd\n+++ b/../../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n')]);
    expect(escape.code).toBe('E_PATCH_UNSAFE_PATH');
    expect(escape.message).toBe('evil.patch: a/../../etc/passwd: has a ".." component, which would leave the tree');
    const dotgit = await fails(f, [diff('hook.patch', '--- /dev/null\n+++ b/.git/hooks/post-checkout\n@@ -0,0 +1 @@\n+x\n')]);
    expect(dotgit.code).toBe('E_PATCH_UNSAFE_PATH');
    expect(dotgit.message).toBe('hook.patch: b/.git/hooks/post-checkout: has a component ".git", which git takes for its own .git directory');
    const date = await fails(f, [diff('date.patch', 'From: A <a@b>\nDate: yesterday\nSubject: x\n\n--- a/README\n+++ b/README\n@@ -1 +1 @@\n-hi\n+ho\n')]);
    expect(date.message).toBe('date.patch: cannot read the date in "Date: yesterday"');
  });

  it('reports a base that is not in the repository', async () => {
    const f = fx({ 'README': 'hi\n' });
    const e = await fails(f, [], '0123456789012345678901234567890123456789');
    expect(e.code).toBe('E_PATCH_BASE');
  });
});
