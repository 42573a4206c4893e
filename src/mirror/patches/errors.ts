import { WeldError } from '../../core/errors.js';

// One class per way a patch series can fail. Every message starts with the patch
// file's name so a packager with twenty patches knows which one to open, and every
// hint says what to do: the fix is nearly always to refresh the patch.

/** Where a failure happened: the patch file and what the series was applied to. */
export interface PatchContext {
  /** the patch file's name, e.g. 0002-fix-build.patch */
  patch: string;
  /** how the user knows the base commit, e.g. upstream/6.0 */
  base: string;
}

function refreshHint(ctx: PatchContext): string {
  return `refresh ${ctx.patch} against ${ctx.base}: apply the series there (git am or quilt push), resolve the problem, and regenerate the patch (git format-patch or quilt refresh)`;
}

abstract class PatchFailure extends WeldError {
  readonly patch: string;
  constructor(ctx: PatchContext, message: string) {
    super(`${ctx.patch}: ${message}`);
    this.patch = ctx.patch;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), patch: this.patch };
  }
}

/** The patch text is malformed: a broken hunk, a header that cannot be read, a path that cannot be used. */
export class PatchParseError extends PatchFailure {
  readonly code = 'E_PATCH_PARSE';
  constructor(ctx: PatchContext, detail: string) {
    super(ctx, detail);
    this.hint = `fix ${ctx.patch} by hand or regenerate it with git format-patch`;
  }
}

/** The patch contains no file changes at all (empty, garbage, or only a message). */
export class PatchEmptyError extends PatchFailure {
  readonly code = 'E_PATCH_EMPTY';
  constructor(ctx: PatchContext) {
    super(ctx, 'contains no diff (no "diff --git", "---/+++" or "@@" lines were found)');
    this.hint = `delete ${ctx.patch} if it is not needed, or regenerate it with git format-patch`;
  }
}

/** A hunk's context or removed lines are not in the file (at its line or at any offset). */
export class PatchConflictError extends PatchFailure {
  readonly code = 'E_PATCH_CONFLICT';
  readonly file: string;
  /** 1-based position of the hunk within this file's diff; absent when the failure is not one hunk's */
  readonly hunk: number | undefined;
  readonly hunkHeader: string | undefined;
  constructor(ctx: PatchContext, opts: { file: string; hunk?: { index: number; header: string }; detail?: string }) {
    super(
      ctx,
      opts.hunk
        ? `${opts.file}: hunk ${opts.hunk.index} (${opts.hunk.header}) does not apply`
        : `${opts.file}: ${opts.detail ?? 'does not apply'}`,
    );
    this.file = opts.file;
    this.hunk = opts.hunk?.index;
    this.hunkHeader = opts.hunk?.header;
    this.hint = refreshHint(ctx);
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), file: this.file, ...(this.hunk ? { hunk: this.hunk, hunkHeader: this.hunkHeader } : {}) };
  }
}

/** The patch changes, deletes or renames a file that is not there. */
export class PatchMissingFileError extends PatchFailure {
  readonly code = 'E_PATCH_MISSING_FILE';
  constructor(
    ctx: PatchContext,
    readonly file: string,
  ) {
    super(ctx, `${file}: no such file to patch`);
    this.hint = refreshHint(ctx);
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), file: this.file };
  }
}

/** The patch creates a file (or renames onto a path) that already exists, or a file stands where a directory is needed. */
export class PatchExistsError extends PatchFailure {
  readonly code = 'E_PATCH_EXISTS';
  constructor(
    ctx: PatchContext,
    readonly file: string,
    detail = 'already exists',
  ) {
    super(ctx, `${file}: ${detail}`);
    this.hint = refreshHint(ctx);
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), file: this.file };
  }
}

/** Binary diffs carry no text hunks; weld does not decode them. */
export class PatchBinaryError extends PatchFailure {
  readonly code = 'E_PATCH_BINARY';
  constructor(
    ctx: PatchContext,
    readonly file: string,
  ) {
    super(ctx, `${file}: binary patches are not supported`);
    this.hint = `ship the binary file another way (e.g. in the upstream tarball or as a recipe step), and drop it from ${ctx.patch}`;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), file: this.file };
  }
}

function unsafeHint(ctx: PatchContext): string {
  return `a distro patch may only change files inside the source tree, and no symlink may point out of it: drop that change from ${ctx.patch}`;
}

/** A file of a patch that breaks the tree's path rules; the subclasses say which rule. */
abstract class PatchPathError extends PatchFailure {
  constructor(
    ctx: PatchContext,
    readonly file: string,
    why: string,
  ) {
    super(ctx, `${file}: ${why}`);
    this.hint = unsafeHint(ctx);
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), file: this.file };
  }
}

/** A path tarball imports would refuse too: `..`, absolute, a backslash, a control character, `.git`. */
export class PatchUnsafePathError extends PatchPathError {
  readonly code = 'E_PATCH_UNSAFE_PATH';
}

/** After the patch, a symlink leads outside the tree (or loops), or .gitmodules is a symlink. */
export class PatchLinkEscapeError extends PatchPathError {
  readonly code = 'E_PATCH_LINK_ESCAPE';
}

/** The base oid is not a commit in the mirror. */
export class PatchBaseError extends WeldError {
  readonly code = 'E_PATCH_BASE';
  constructor(
    readonly base: string,
    detail: string,
  ) {
    super(`cannot apply patches onto ${base}: ${detail}`);
    this.hint = 'mirror the upstream again (weld mirror <pkg>) so the base commit exists';
  }
}

export type PatchError =
  | PatchParseError
  | PatchEmptyError
  | PatchConflictError
  | PatchMissingFileError
  | PatchExistsError
  | PatchBinaryError
  | PatchUnsafePathError
  | PatchLinkEscapeError
  | PatchBaseError;
