import { applyPatch } from 'diff';
import { err, ok, type Result } from '../../core/result.js';
import type { FileDiff, Hunk } from './diff.js';
import {
  PatchConflictError,
  PatchExistsError,
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
  for (const file of ordered) {
    const r = await applyFile({ tree, file, ctx: opts.ctx });
    if (!r.ok) return r;
    tree = r.value;
  }
  return ok(tree);
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
