import { applyPatch } from 'diff';
import { err, ok, type Result } from '../../core/result.js';
import type { FileDiff, Hunk } from './diff.js';
import { isDotGitmodules, resolveLinkAsync, sameFold, type Child } from '../tarball/paths.js';
import {
  PatchConflictError,
  PatchExistsError,
  PatchLinkEscapeError,
  PatchMissingFileError,
  type PatchContext,
  type PatchError,
} from './errors.js';
import type { Tree } from './tree.js';

// Applies one patch's file diffs to a tree, with git apply's rules: a hunk may
// apply at a shifted line, but every context and removed line must match exactly
// (no fuzz), so a patch never lands somewhere it was not written for.

export async function applyFiles(opts: { tree: Tree; files: FileDiff[]; ctx: PatchContext }): Promise<Result<Tree, PatchError>> {
  let tree = opts.tree;
  // Deletions first, as git apply does: a patch that turns a directory into a file
  // lists the new file before the deleted directory's files.
  const ordered = [...opts.files.filter((f) => f.kind === 'delete'), ...opts.files.filter((f) => f.kind !== 'delete')];
  const before = tree;
  for (const file of ordered) {
    const r = await applyFile({ tree, file, ctx: opts.ctx });
    if (!r.ok) return r;
    tree = r.value;
  }
  // A symlink made, moved, changed or removed can change where any symlink leads, so
  // then every one is checked again, as the tarball importer checks them.
  const paths = opts.files.flatMap((f) => [f.oldPath, f.newPath]).filter((p): p is string => p !== undefined);
  for (const p of paths) {
    if ((await modeOf(before, p)) === '120000' || (await modeOf(tree, p)) === '120000') {
      const bad = await escapingLink({ tree, ctx: opts.ctx });
      return bad ? err(bad) : ok(tree);
    }
  }
  return ok(tree);
}

async function modeOf(tree: Tree, path: string): Promise<string | undefined> {
  const parts = path.split('/');
  return (await tree.list(parts.slice(0, -1))).find((e) => e.name === parts[parts.length - 1])?.mode;
}

async function linkTarget(tree: Tree, path: string): Promise<string> {
  return Buffer.from((await tree.readFile(path))!.bytes).toString('utf8');
}

async function escapingLink(opts: { tree: Tree; ctx: PatchContext }): Promise<PatchLinkEscapeError | undefined> {
  const { tree, ctx } = opts;
  for (const p of await tree.symlinks()) {
    const parts = p.split('/');
    if (isDotGitmodules(parts[parts.length - 1]!)) return new PatchLinkEscapeError(ctx, p, 'is a symlink named .gitmodules, which git refuses');
    const target = await linkTarget(tree, p);
    const verdict = await resolveLinkAsync({
      start: parts.slice(0, -1),
      target,
      children: async (dir, name) => {
        const out: Child[] = [];
        for (const [n, e] of sameFold(name, (await tree.list(dir)).map((e) => [e.name, e] as [string, typeof e]))) {
          out.push(e.mode === '120000' ? { name: n, link: await linkTarget(tree, [...dir, n].join('/')) } : { name: n });
        }
        return out;
      },
    });
    if (verdict === 'escape') return new PatchLinkEscapeError(ctx, p, `is a symlink to "${target}", which resolves outside the tree`);
    if (verdict === 'loop') return new PatchLinkEscapeError(ctx, p, `is a symlink to "${target}", which loops through more than 40 symlinks`);
  }
  return undefined;
}

async function applyFile(opts: { tree: Tree; file: FileDiff; ctx: PatchContext }): Promise<Result<Tree, PatchError>> {
  const { tree, file, ctx } = opts;

  if (file.kind === 'create') {
    const path = file.newPath!;
    const blocked = await checkFree({ tree, path, ctx });
    if (blocked) return err(blocked);
    const text = applyHunks({ text: '', hunks: file.hunks, file: path, ctx });
    if (!text.ok) return text;
    return ok(await tree.writeFile(path, { mode: file.newMode ?? '100644', bytes: Buffer.from(text.value, 'latin1') }));
  }

  // Non-git diffs may name different files on the two sides (pkg.orig/a.c, pkg/a.c
  // strip to the same path, but a hand-made diff may not); patch(1) edits the one that exists.
  let source = file.oldPath!;
  if (file.kind === 'modify' && file.newPath !== source && (await tree.kind(source)) !== 'file') source = file.newPath!;
  if ((await tree.kind(source)) !== 'file') return err(new PatchMissingFileError(ctx, source));

  if (file.kind === 'delete') {
    // A deletion must account for every line, as git apply insists: removing a file
    // the patch author never saw would drop upstream changes silently.
    const old = (await tree.readFile(source))!;
    const text = applyHunks({ text: asText(old.bytes), hunks: file.hunks, file: source, ctx });
    if (!text.ok) return text;
    if (text.value !== '') {
      return err(new PatchConflictError(ctx, { file: source, detail: 'the file has lines the patch does not delete, so it cannot be removed' }));
    }
    return ok(await tree.remove(source));
  }

  const target = file.kind === 'modify' ? source : file.newPath!;
  let next = tree;
  if (file.kind === 'rename' || file.kind === 'copy') {
    const blocked = await checkFree({ tree, path: target, ctx });
    if (blocked) return err(blocked);
  }
  if (file.hunks.length === 0) {
    next = await next.copyFile({ from: source, to: target, ...(file.newMode ? { mode: file.newMode } : {}) });
  } else {
    const old = (await tree.readFile(source))!;
    const text = applyHunks({ text: asText(old.bytes), hunks: file.hunks, file: source, ctx });
    if (!text.ok) return text;
    next = await next.writeFile(target, { mode: file.newMode ?? old.mode, bytes: Buffer.from(text.value, 'latin1') });
  }
  if (file.kind === 'rename') next = await next.remove(source);
  return ok(next);
}

async function checkFree(opts: { tree: Tree; path: string; ctx: PatchContext }): Promise<PatchExistsError | undefined> {
  const kind = await opts.tree.kind(opts.path);
  if (kind === 'file') return new PatchExistsError(opts.ctx, opts.path);
  if (kind) return new PatchExistsError(opts.ctx, opts.path, `already exists as a ${kind === 'dir' ? 'directory' : 'submodule'}`);
  const parent = await opts.tree.blockingParent(opts.path);
  if (parent) return new PatchExistsError(opts.ctx, opts.path, `cannot be created: ${parent} is a file, not a directory`);
  return undefined;
}

/** Bytes as a string of one char per byte, so any encoding is matched and written back unchanged. */
function asText(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/**
 * jsdiff applies a whole file diff but only says yes or no; applying hunk by hunk
 * lets the error name the hunk. Like git apply, each hunk is looked for at its
 * line in the partly patched file (the old start moved by what earlier hunks
 * added or removed), then one line further and one line back, and so on.
 */
function applyHunks(opts: { text: string; hunks: Hunk[]; file: string; ctx: PatchContext }): Result<string, PatchConflictError> {
  let text = opts.text;
  let shift = 0;
  for (const [i, hunk] of opts.hunks.entries()) {
    const moved = { ...hunk, oldStart: hunk.oldStart + shift };
    const out = applyPatch(
      text,
      { oldFileName: undefined, newFileName: undefined, oldHeader: undefined, newHeader: undefined, hunks: [moved] },
      // jsdiff would otherwise rewrite a unix patch to CRLF for a CRLF file; git apply does not.
      { fuzzFactor: 0, autoConvertLineEndings: false },
    );
    if (out === false) {
      return err(new PatchConflictError(opts.ctx, { file: opts.file, hunk: { index: i + 1, header: hunk.header } }));
    }
    text = out;
    shift += hunk.newLines - hunk.oldLines;
  }
  return ok(text);
}
