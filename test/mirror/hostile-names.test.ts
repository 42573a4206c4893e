import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPatchSeries } from '../../src/mirror/patches/series.js';
import { importTarball } from '../../src/mirror/tarball/import.js';
import { isDotGit, isDotGitmodules, splitPath } from '../../src/mirror/tarball/paths.js';
import { bareRepo, entry, objectStore, pax, streamOf, tar, tempDir } from '../helpers/tar.js';
import { WELD, fixture, refs, type Fixture } from './patches/fixture.js';

// Generated hostile names: a table of names and link targets × where they sit ×
// how they arrive (tarball entry, distro patch). Each case is refused with one of
// the codes it may get, or contained: stored with nothing git or weld would refuse
// (no .git component, no name outside the tree, no symlink leading out). Either way
// nothing lands outside the tree and refs do not move.

const HOSTILE_NAMES: Array<[string, string]> = [
  ['dotdot', '..'],
  ['backslash', 'a\\b'],
  ['backslash-escape', '..\\..\\x'],
  ['nul', 'a\0b'],
  ['ctrl-01', 'a\u0001b'],
  ['escape', 'a\u001b[31mb'],
  ['newline', 'a\nb'],
  ['del', 'a\u007fb'],
  ['c1', 'a\u0085b'],
  ['overlong-component', 'x'.repeat(256)],
  ['.git', '.git'],
  ['.GIT', '.GIT'],
  ['.Git', '.Git'],
  ['.git.', '.git.'],
  ['.git-space', '.git '],
  ['.git..', '.git..'],
  ['git~1', 'git~1'],
  ['GIT~1', 'GIT~1'],
  ['hfs-zwnj', '.g\u200cit'],
  ['hfs-bom', '.gi\ufefft'],
  ['hfs-rlm', '\u200f.git'],
  ['ntfs-ads', '.git::$INDEX_ALLOCATION'],
];

// where a hostile name sits in the path
const PLACES: Array<[string, (n: string) => string]> = [
  ['leaf', (n) => n],
  ['dir', (n) => `${n}/f`],
  ['nested', (n) => `d/${n}/f`],
];

const WHOLE_PATHS: Array<[string, string]> = [
  ['absolute', '/etc/evil'],
  ['absolute-top', '/p/evil'],
  ['overlong-path', `${'n/'.repeat(2100)}f`],
];

// symlinks: [title, links (path → target), files]
const LINK_SETS: Array<[string, Record<string, string>]> = [
  ['up-two', { 'link': '../..' }],
  ['up-deep', { 'd/link': '../../../../tmp' }],
  ['absolute', { 'link': '/tmp' }],
  ['backslash-up', { 'link': '..\\..\\..\\tmp' }],
  ['drive', { 'link': 'C:\\Windows' }],
  ['unc', { 'link': '\\\\server\\share' }],
  ['chain', { 'a': 'b', 'b': 'c/../..' }],
  ['chain-dir', { 'd/a': '../e/b', 'e/b': '../../..' }],
  ['loop', { 'a': 'b', 'b': 'a/x' }],
  ['case-chain', { 'Sub': 'd/e', 'SUB/keep': 'x', 'x': 'sub/../..' }],
  ['.gitmodules', { '.gitmodules': 'README' }],
  ['.GITMODULES', { '.GITMODULES': 'README' }],
  ['gitmod~1', { 'gitmod~1': 'README' }],
  ['.gitmodules.', { '.gitmodules.': 'README' }],
];

const CLASHES: Array<[string, string[]]> = [
  ['A-a', ['A', 'a']],
  ['dir-file', ['Dir/x', 'dir']],
  ['nfc-nfd', ['\u00e9', 'e\u0301']],
];

const HARDLINKS: Array<[string, string]> = [
  ['dotdot', '../../etc/passwd'],
  ['absolute', '/etc/passwd'],
  ['other-top', 'q/README'],
  ['backslash', 'p/..\\..\\x'],
];

interface Outcome {
  ok: boolean;
  code?: string;
  /** paths stored, when contained */
  stored?: string[];
}

/** Contained means: every stored path is one weld and git accept, and no stored symlink leads out. */
function assertContained(stored: string[], links: Map<string, string>): void {
  for (const p of stored) {
    const check = splitPath(p);
    expect(check.ok, p).toBe(true);
    if (check.ok) expect(check.components.some(isDotGit), p).toBe(false);
  }
  for (const [p, target] of links) {
    expect(isDotGitmodules(p.split('/').pop()!), p).toBe(false);
    // lexical check, independent of weld's resolver: no target climbs above the root
    expect(target.startsWith('/') || /^[A-Za-z]:|^\\/.test(target), `${p} -> ${target}`).toBe(false);
  }
}

function lsTree(gitdir: string, tree: string): { paths: string[]; links: Map<string, string> } {
  const out = execFileSync('git', ['--git-dir', gitdir, 'ls-tree', '-r', '-z', tree], { encoding: 'buffer' }).toString('utf8');
  const paths: string[] = [];
  const links = new Map<string, string>();
  for (const rec of out.split('\0').filter(Boolean)) {
    const [meta, p] = [rec.slice(0, rec.indexOf('\t')), rec.slice(rec.indexOf('\t') + 1)];
    paths.push(p);
    const [mode, , oid] = meta.split(' ');
    if (mode === '120000') links.set(p, execFileSync('git', ['--git-dir', gitdir, 'cat-file', 'blob', oid!], { encoding: 'utf8' }));
  }
  return { paths, links };
}

type TarCase = { title: string; parts: Buffer[]; refuse: string[]; contain: boolean };

function tarCases(): TarCase[] {
  const cases: TarCase[] = [];
  // names a plain header cannot hold go in a pax header (control characters fit a plain one)
  const needsPax = (name: string) => Buffer.byteLength(name) > 99 || /[^\x00-\x7f]/.test(name);
  const named = (name: string) => (needsPax(name) ? [pax({ path: name })] : []);
  const file = (name: string, data = 'x') => [...named(name), entry({ name: needsPax(name) ? 'p/pax' : name, data })];
  const link = (name: string, target: string) => {
    const long = needsPax(name) || needsPax(target);
    return long ? [pax({ path: name, linkpath: target }), entry({ name: 'p/pax', type: '2', linkname: 'pax' })] : [entry({ name, type: '2', linkname: target })];
  };
  for (const [t, n] of HOSTILE_NAMES) {
    for (const [place, at] of PLACES) {
      const name = `p/${at(n)}`;
      const dotGit = isDotGit(n);
      const refuse = dotGit ? [] : ['E_TARBALL_UNSAFE_PATH', 'E_TARBALL_NAME', 'E_TARBALL_CORRUPT'];
      // a NUL ends the name of a plain tar header: what is stored is the part before it
      cases.push({ title: `file ${t} as ${place}`, parts: file(name), refuse, contain: dotGit || n.includes('\0') });
      cases.push({ title: `symlink ${t} as ${place}`, parts: link(name, 'README'), refuse, contain: dotGit || n.includes('\0') });
      cases.push({ title: `dir ${t} as ${place}`, parts: [...named(`${name}/`), entry({ name: named(`${name}/`).length ? 'p/pax/' : `${name}/`, type: '5', mode: 0o755 })], refuse, contain: true });
    }
  }
  for (const [t, p] of WHOLE_PATHS) cases.push({ title: `path ${t}`, parts: file(p), refuse: ['E_TARBALL_UNSAFE_PATH', 'E_TARBALL_NAME', 'E_TARBALL_LAYOUT'], contain: false });
  for (const [t, links] of LINK_SETS) {
    const gm = t.toLowerCase().includes('gitmod');
    cases.push({ title: `links ${t}`, parts: Object.entries(links).flatMap(([p, target]) => link(`p/${p}`, target)), refuse: gm ? [] : ['E_TARBALL_LINK_ESCAPE'], contain: gm });
  }
  for (const [t, names] of CLASHES) cases.push({ title: `case clash ${t}`, parts: names.flatMap((n) => file(`p/${n}`)), refuse: [], contain: true });
  for (const [t, target] of HARDLINKS) {
    cases.push({ title: `hard link ${t}`, parts: [entry({ name: 'p/evil', type: '1', linkname: target })], refuse: ['E_TARBALL_LINK_ESCAPE', 'E_TARBALL_NAME'], contain: false });
  }
  return cases;
}

type PatchCase = { title: string; text: string; refuse: string[]; contain: boolean; before?: string };

const newFile = (p: string, content: string, link = false) =>
  [`diff --git a/${p} b/${p}`, `new file mode ${link ? '120000' : '100644'}`, '--- /dev/null', `+++ b/${p}`, '@@ -0,0 +1 @@', `+${content}`, ...(link ? ['\\ No newline at end of file'] : []), ''].join('\n');
const patch = (body: string) => `From: M <m@example.org>\nDate: Wed, 1 Mar 2023 10:00:00 +0100\nSubject: [PATCH] hostile\n\n---\n${body}`;

function patchCases(): PatchCase[] {
  const cases: PatchCase[] = [];
  for (const [t, n] of HOSTILE_NAMES) {
    if (n.includes('\n')) continue; // a newline ends the diff header line itself: it cannot be written in a patch
    for (const [place, at] of PLACES) {
      cases.push({ title: `file ${t} as ${place}`, text: patch(newFile(at(n), 'x')), refuse: ['E_PATCH_UNSAFE_PATH', 'E_PATCH_PARSE'], contain: false });
      cases.push({ title: `symlink ${t} as ${place}`, text: patch(newFile(at(n), 'README', true)), refuse: ['E_PATCH_UNSAFE_PATH', 'E_PATCH_PARSE'], contain: false });
    }
  }
  for (const [t, p] of WHOLE_PATHS) cases.push({ title: `path ${t}`, text: patch(newFile(p.replace(/^\//, '/'), 'x').replace(`a/${p}`, p).replace(`b/${p}`, p)), refuse: ['E_PATCH_UNSAFE_PATH', 'E_PATCH_PARSE'], contain: false });
  for (const [t, links] of LINK_SETS) {
    const body = Object.entries(links).map(([p, target]) => newFile(p, target, !p.endsWith('keep'))).join('');
    cases.push({ title: `links ${t}`, text: patch(body), refuse: ['E_PATCH_LINK_ESCAPE'], contain: false });
    // the same link made by renaming or copying a harmless one from where it was inside
    const [p, target] = Object.entries(links).pop()!;
    if (!target.startsWith('..') && !t.includes('gitmod')) continue;
    for (const how of ['rename', 'copy']) {
      const made = newFile(`deep/er/${p}`, target, true);
      const move = [`diff --git a/deep/er/${p} b/${p}`, 'similarity index 100%', `${how} from deep/er/${p}`, `${how} to ${p}`, ''].join('\n');
      // the first patch makes a link that stays inside; the second moves it to where it leads out
      cases.push({ title: `links ${t} by ${how}`, before: patch(made), text: patch(move), refuse: ['E_PATCH_LINK_ESCAPE'], contain: false });
    }
  }
  for (const [t, names] of CLASHES) cases.push({ title: `case clash ${t}`, text: patch(names.map((n) => newFile(n, 'x')).join('')), refuse: [], contain: true });
  return cases;
}

describe('hostile names', () => {
  const tmp = tempDir('weld-hostile-');
  let gitdir: string;
  let fx: Fixture;
  const outside = path.join(tmp.dir, 'outside');
  let ran = 0;

  beforeAll(() => {
    gitdir = bareRepo(tmp.dir);
    mkdirSync(outside);
    fx = fixture({ 'README': 'hello\n', 'deep/er/keep': 'k\n' });
  });
  afterAll(() => {
    tmp.cleanup();
    fx.cleanup();
    // eslint-disable-next-line no-console
    console.log(`hostile-names: ${ran} cases ran`);
  });

  it('tarball entries: every case refused or contained', async () => {
    const cases = tarCases();
    expect(cases.length).toBe(222);
    for (const c of cases) {
      const before = objectStore(gitdir);
      const data = tar(entry({ name: 'p/', type: '5', mode: 0o755 }), entry({ name: 'p/README', data: 'hello\n' }), ...c.parts);
      const r = await importTarball({ gitdir, input: streamOf(data), source: `${c.title}.tar` });
      ran++;
      const outcome: Outcome = r.ok ? { ok: true } : { ok: false, code: r.error.code };
      if (!r.ok) {
        expect(c.refuse, `${c.title}: ${r.error.message}`).toContain(r.error.code);
        expect(objectStore(gitdir), c.title).toEqual(before);
      } else {
        expect(c.contain, `${c.title} was imported`).toBe(true);
        const { paths, links } = lsTree(gitdir, r.value.tree);
        assertContained(paths, links);
      }
      expect(outcome.ok || outcome.code !== undefined).toBe(true);
    }
    expect(readdirSync(outside)).toEqual([]);
  });

  it('distro patches: every case refused or contained, refs untouched', async () => {
    const cases = patchCases();
    expect(cases.length).toBe(160);
    const refsBefore = refs(fx.gitdir);
    for (const c of cases) {
      const patches = [...(c.before ? [{ name: '0000-inside.patch', text: c.before }] : []), { name: `${c.title}.patch`, text: c.text }];
      const r = await applyPatchSeries({ gitdir: fx.gitdir, base: fx.base, patches, committer: WELD });
      ran++;
      if (!r.ok) expect(c.refuse, `${c.title}: ${r.error.message}`).toContain(r.error.code);
      else {
        expect(c.contain, `${c.title} was applied`).toBe(true);
        const { paths, links } = lsTree(fx.gitdir, r.value.tree);
        assertContained(paths, links);
      }
      expect(refs(fx.gitdir)).toBe(refsBefore);
    }
    expect(readdirSync(outside)).toEqual([]);
  });
});
