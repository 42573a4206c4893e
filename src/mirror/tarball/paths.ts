// Checks on archive member names, done before anything about the entry is believed.

export const MAX_PATH_BYTES = 4096; // PATH_MAX on Linux
export const MAX_COMPONENT_BYTES = 255; // NAME_MAX on Linux

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
