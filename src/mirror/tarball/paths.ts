// Checks on archive member names, done before anything about the entry is believed.

export const MAX_PATH_BYTES = 4096; // PATH_MAX on Linux
export const MAX_COMPONENT_BYTES = 255; // NAME_MAX on Linux

// NUL ends a name in git's trees; the others turn up in terminals and scripts as
// escape sequences or line breaks. C0, DEL and C1.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export type PathCheck =
  | { ok: true; components: string[] }
  | { ok: false; kind: 'name' | 'unsafe'; why: string };

/**
 * Splits an archive path into components, dropping empty and `.` ones (tar writes
 * `./pkg/x` and `pkg//x` as readily as `pkg/x`). Refuses what could not be stored
 * faithfully ('name') or could land outside the tree ('unsafe').
 */
export function splitPath(path: string): PathCheck {
  // The tar parser decodes names as UTF-8 and replaces invalid bytes with U+FFFD, so
  // U+FFFD is the only trace a non-UTF-8 name leaves; a genuine U+FFFD is refused too.
  if (path.includes('\uFFFD')) {
    return { ok: false, kind: 'name', why: 'has a name that is not valid UTF-8 (shown with U+FFFD); only UTF-8 names can be stored reproducibly' };
  }
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_PATH_BYTES) {
    return { ok: false, kind: 'name', why: `has a name of ${bytes} bytes, longer than ${MAX_PATH_BYTES}` };
  }
  if (path.startsWith('/')) return { ok: false, kind: 'unsafe', why: 'has an absolute path' };
  // Windows git reads a backslash as a directory separator, so `a\..\..\x` leaves the
  // tree there; git itself refuses such names on checkout (protectNTFS).
  if (path.includes('\\')) return { ok: false, kind: 'unsafe', why: 'has a backslash, which git on Windows reads as a directory separator' };
  const control = CONTROL.exec(path);
  if (control) {
    const code = control[0].codePointAt(0)!;
    return { ok: false, kind: 'unsafe', why: `has the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}${code === 0 ? ' (NUL)' : ''} in its name` };
  }
  const components: string[] = [];
  for (const c of path.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') return { ok: false, kind: 'unsafe', why: 'has a ".." component, which would leave the tree' };
    const n = Buffer.byteLength(c);
    if (n > MAX_COMPONENT_BYTES) {
      return { ok: false, kind: 'name', why: `has a path component of ${n} bytes, longer than ${MAX_COMPONENT_BYTES}` };
    }
    components.push(c);
  }
  return { ok: true, components };
}

// Code points macOS (HFS+) ignores in names, so `.g\u200cit` is `.git` there.
const HFS_IGNORABLE = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/**
 * True for a name git treats as its own `.git` directory on some file system: `.git`
 * in any case, with HFS+-ignorable code points, or NTFS spellings like `.git.`,
 * `.git ` and `git~1` (git's is_hfs_dotgit / is_ntfs_dotgit; `git fsck` refuses them).
 */
export function isDotGit(name: string): boolean {
  if (name.replace(HFS_IGNORABLE, '').toLowerCase() === '.git') return true;
  // NTFS: each backslash-separated segment, up to a ':' (alternate data stream)
  for (const segment of name.split('\\')) {
    const s = segment.split(':')[0]!.toLowerCase();
    if (/^(\.git|git~1)[. ]*$/.test(s)) return true;
    if (segment.includes(':')) break;
  }
  return false;
}

/** `.gitmodules` spelt any way git would read it; git refuses it as a symlink. */
export function isDotGitmodules(name: string): boolean {
  const s = name.replace(HFS_IGNORABLE, '').toLowerCase().replace(/[. ]+$/, '');
  return s === '.gitmodules' || s === 'gitmod~1';
}

// Where a symlink leads, judged the same way for tarball imports and distro patches:
// one rule set, whatever kind of tree it is asked about.

export type LinkVerdict = 'inside' | 'escape' | 'loop';

/** A name in a directory, and its target when it is a symlink. */
export interface Child {
  name: string;
  link?: string;
}

/** Asks which names in `dir` may be meant by `name` (the exact one first), see foldName. */
export type Children<R> = (dir: string[], name: string) => R;

const MAX_SYMLINK_HOPS = 40; // Linux's MAXSYMLINKS
// Branches multiply when names clash by case; past this many steps the link is called a loop.
const MAX_STEPS = 10_000;

/**
 * The name as a case-insensitive file system (macOS, Windows) sees it. Two names of one
 * directory with the same fold are one file there: weld keeps both (git does, and
 * builds run on case-sensitive Linux), but a symlink must stay inside the tree whichever
 * of them such a checkout would keep, so lookups follow every spelling.
 */
export function foldName(name: string): string {
  return name.normalize('NFC').replace(HFS_IGNORABLE, '').toLowerCase();
}

/** The children of `names` with the same fold as `name`, exact match first. */
export function sameFold<T>(name: string, names: Iterable<[string, T]>): Array<[string, T]> {
  const want = foldName(name);
  const out: Array<[string, T]> = [];
  for (const entry of names) {
    if (entry[0] === name) out.unshift(entry);
    else if (foldName(entry[0]) === want) out.push(entry);
  }
  return out;
}

function isAbsolute(target: string): boolean {
  // `/x`, and on Windows `\x`, `\\server\x` and `C:x`
  return /^([\\/]|[A-Za-z]:)/.test(target);
}

/** Git on Windows reads a backslash in a link target as a separator, the more outward reading. */
function parts(target: string): string[] {
  return target.split(/[\\/]/).reverse();
}

interface Branch {
  stack: string[];
  todo: string[];
  hops: number;
}

/**
 * Resolves `target` from directory `start`, following symlinks met on the way (a link
 * to `..` is harmless in a subdirectory but not at the top, and another link may lead
 * through it). A generator so the sync tarball tree and the async patch tree share it.
 */
function* steps(start: string[], target: string): Generator<{ dir: string[]; name: string }, LinkVerdict, Child[]> {
  if (isAbsolute(target)) return 'escape';
  const work: Branch[] = [{ stack: [...start], todo: parts(target), hops: 0 }];
  let count = 0;
  while (work.length > 0) {
    const b = work.pop()!;
    while (b.todo.length > 0) {
      const c = b.todo.pop()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (b.stack.length === 0) return 'escape';
        b.stack.pop();
        continue;
      }
      if (++count > MAX_STEPS) return 'loop';
      const found: Child[] = yield { dir: b.stack, name: c };
      // a missing name or a file resolves no further on a real file system either
      if (found.length === 0) {
        b.stack.push(c);
        continue;
      }
      const before = { stack: [...b.stack], todo: [...b.todo], hops: b.hops };
      for (const [i, f] of found.entries()) {
        const next = i === 0 ? b : { stack: [...before.stack], todo: [...before.todo], hops: before.hops };
        if (f.link !== undefined) {
          if (++next.hops > MAX_SYMLINK_HOPS) return 'loop';
          if (isAbsolute(f.link)) return 'escape';
          next.todo.push(...parts(f.link));
        } else {
          next.stack.push(f.name);
        }
        if (i > 0) work.push(next);
      }
    }
  }
  return 'inside';
}

export function resolveLink(opts: { start: string[]; target: string; children: Children<Child[]> }): LinkVerdict {
  const it = steps(opts.start, opts.target);
  let r = it.next();
  while (!r.done) r = it.next(opts.children(r.value.dir, r.value.name));
  return r.value;
}

export async function resolveLinkAsync(opts: { start: string[]; target: string; children: Children<Promise<Child[]>> }): Promise<LinkVerdict> {
  const it = steps(opts.start, opts.target);
  let r = it.next();
  while (!r.done) r = it.next(await opts.children(r.value.dir, r.value.name));
  return r.value;
}
