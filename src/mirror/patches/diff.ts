import { parsePatch, type StructuredPatch } from 'diff';
import { isDotGit, splitPath } from '../tarball/paths.js';

// Turns the diff part of a patch into one FileDiff per file, with paths already
// stripped (-p1) and checked, so apply.ts deals only with tree operations.

export type FileMode = '100644' | '100755' | '120000';

export interface Hunk {
  /** the hunk's "@@ -a,b +c,d @@" as written in the patch, for messages */
  header: string;
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /**
   * Lines as byte strings (one char per byte, "latin1"): files are compared byte
   * for byte, so non-UTF-8 upstream files survive a patch that does not touch them.
   */
  lines: string[];
}

export interface FileDiff {
  kind: 'modify' | 'create' | 'delete' | 'rename' | 'copy';
  /** undefined for create */
  oldPath: string | undefined;
  /** undefined for delete */
  newPath: string | undefined;
  newMode: FileMode | undefined;
  hunks: Hunk[];
}

export type DiffProblem =
  | { problem: 'parse'; detail: string }
  | { problem: 'binary'; file: string }
  /** a path that tarball imports would refuse too: one rule set for both */
  | { problem: 'unsafe'; file: string; why: string };

/** `firstLine` is where the diff starts in the patch file (0-based), so messages point at real lines. */
export function parseDiff(opts: { text: string; firstLine: number }): FileDiff[] | DiffProblem {
  const text = stripSignature(opts.text);
  const binary = findBinary(text);
  if (binary) return { problem: 'binary', file: binary };
  const headers = text.split('\n').filter((l) => /^@@\s/.test(l));

  let parsed: StructuredPatch[];
  try {
    parsed = parsePatch(text);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // jsdiff counts lines from the start of the text it was given.
    const shifted = message.replace(/\bline (\d+)/g, (_, n: string) => `line ${Number(n) + opts.firstLine}`);
    // jsdiff reports a hunk cut short by the end of the patch as an "invalid line" that is empty.
    const cut = /^Hunk at line (\d+) contained invalid line $/.exec(shifted);
    return { problem: 'parse', detail: cut ? `the patch ends inside the hunk at line ${cut[1]}: it has fewer lines than its @@ header counts` : shifted };
  }

  const files: FileDiff[] = [];
  let hunkNo = 0;
  for (const p of parsed) {
    if (p.oldFileName === undefined && p.newFileName === undefined) {
      if (p.hunks.length > 0) return { problem: 'parse', detail: `hunk ${headers[hunkNo] ?? ''} has no "---"/"+++" file names` };
      continue; // text around the diff that jsdiff kept as an empty entry
    }
    const hunks: Hunk[] = [];
    for (const h of p.hunks) {
      const raw = headers[hunkNo++] ?? '';
      hunks.push({
        header: /^@@ [^@]*@@/.exec(raw)?.[0] ?? raw,
        oldStart: h.oldStart,
        oldLines: h.oldLines,
        newStart: h.newStart,
        newLines: h.newLines,
        lines: h.lines.map((l) => Buffer.from(l, 'utf8').toString('latin1')),
      });
    }
    const file = toFileDiff(p, hunks);
    if ('problem' in file) return file;
    files.push(file);
  }
  return files;
}

function toFileDiff(p: StructuredPatch, hunks: Hunk[]): FileDiff | DiffProblem {
  const oldNull = p.oldFileName === '/dev/null';
  const newNull = p.newFileName === '/dev/null';
  const oldPath = oldNull ? undefined : strip(p.oldFileName);
  const newPath = newNull ? undefined : strip(p.newFileName);
  if (typeof oldPath === 'object') return oldPath;
  if (typeof newPath === 'object') return newPath;
  const o = oldPath;
  const n = newPath;

  let newMode: FileMode | undefined;
  if (p.newMode !== undefined) {
    const mode = normaliseMode(p.newMode);
    if (!mode) return { problem: 'parse', detail: `${n ?? o}: mode ${p.newMode} is not supported (only files, executables and symlinks)` };
    newMode = mode;
  }
  if (p.oldMode !== undefined && !normaliseMode(p.oldMode)) {
    return { problem: 'parse', detail: `${o ?? n}: mode ${p.oldMode} is not supported (only files, executables and symlinks)` };
  }

  let kind: FileDiff['kind'];
  if (p.isCreate || oldNull || (!p.isGit && isEpochCreate(p))) kind = 'create';
  else if (p.isDelete || newNull || (!p.isGit && isEpochDelete(p))) kind = 'delete';
  else if (p.isRename) kind = 'rename';
  else if (p.isCopy) kind = 'copy';
  else kind = 'modify';

  if (kind === 'create') {
    if (!n) return { problem: 'parse', detail: 'a new file without a name (both sides are /dev/null)' };
    return { kind, oldPath: undefined, newPath: n, newMode: newMode ?? '100644', hunks };
  }
  if (kind === 'delete') {
    if (!o) return { problem: 'parse', detail: 'a deleted file without a name (both sides are /dev/null)' };
    return { kind, oldPath: o, newPath: undefined, newMode: undefined, hunks };
  }
  if (!o || !n) return { problem: 'parse', detail: 'a file diff without old and new names' };
  return { kind, oldPath: o, newPath: n, newMode, hunks };
}

/** Strips one leading component (a/, b/, or pkg-1.0/), like git apply -p1 and quilt. */
function strip(name: string | undefined): string | DiffProblem | undefined {
  if (name === undefined) return undefined;
  const slash = name.indexOf('/');
  if (slash < 0) {
    return {
      problem: 'parse',
      detail: `${name}: file names need a leading directory to strip (a/ and b/, or pkg.orig/ and pkg/), as git diff and diff -ru old new write them`,
    };
  }
  const path = name.slice(slash + 1).replace(/\/+/g, '/');
  // A patch must not reach outside the tree or into git's own files: the tarball rules.
  const check = splitPath(path);
  if (!check.ok) return { problem: 'unsafe', file: name, why: check.why };
  const dotGit = check.components.find(isDotGit);
  if (dotGit !== undefined) return { problem: 'unsafe', file: name, why: `has a component "${dotGit}", which git takes for its own .git directory` };
  if (check.components.join('/') !== path) return { problem: 'parse', detail: `${name}: not a usable path inside the source tree` };
  return path;
}

/** git normalises old 100664-style modes the same way. */
function normaliseMode(mode: string): FileMode | undefined {
  if (mode === '120000') return '120000';
  if (/^100[0-7]{3}$/.test(mode)) return parseInt(mode.slice(3), 8) & 0o100 ? '100755' : '100644';
  return undefined;
}

// GNU diff -N marks files that do not exist on one side with an epoch timestamp.
const EPOCH = /^(1970-01-01|1969-12-31)[ T]/;

function isEpochCreate(p: StructuredPatch): boolean {
  const h = p.hunks[0];
  return EPOCH.test(p.oldHeader ?? '') && p.hunks.length === 1 && h !== undefined && h.oldLines === 0;
}

function isEpochDelete(p: StructuredPatch): boolean {
  const h = p.hunks[0];
  return EPOCH.test(p.newHeader ?? '') && p.hunks.length === 1 && h !== undefined && h.newLines === 0;
}

/**
 * Drops format-patch's "-- \n2.39.5" signature: jsdiff would read the "-- " line
 * as one line too many for the last hunk.
 */
function stripSignature(text: string): string {
  const lines = text.split('\n');
  const at = lines.lastIndexOf('-- ');
  if (at < 0) return text;
  const after = lines.slice(at + 1);
  if (after.some((l) => /^([-+ \\@]|diff |Index: )/.test(l))) return text;
  return lines.slice(0, at).join('\n') + '\n';
}

/** The first file with a binary diff, named by its new path (old path when deleted). */
function findBinary(text: string): string | undefined {
  let gitHeader: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('diff --git ')) gitHeader = line;
    if (line === 'GIT binary patch' || /^Binary files .* differ$/.test(line)) {
      const files = /^Binary files (.*) and (.*) differ$/.exec(line);
      if (files) return displayName(files[2] === '/dev/null' ? files[1]! : files[2]!);
      const git = gitHeader ? /^diff --git "?a\/.*?"? "?b\/(.*?)"?$/.exec(gitHeader) : undefined;
      return git?.[1] ?? '(unnamed file)';
    }
  }
  return undefined;
}

function displayName(name: string): string {
  const slash = name.indexOf('/');
  return slash < 0 ? name : name.slice(slash + 1);
}
