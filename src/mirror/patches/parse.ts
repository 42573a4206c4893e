import { err, ok, type Result } from '../../core/result.js';
import type { PatchDate } from './dates.js';
import { parseDiff, type FileDiff } from './diff.js';
import { PatchBinaryError, PatchEmptyError, PatchParseError, PatchUnsafePathError, type PatchContext } from './errors.js';
import { splitPatch } from './header.js';
import type { Identity } from './identity.js';

export interface ParsedPatch {
  /** the full commit message, git-style: subject, blank line, body, one trailing newline */
  message: string;
  author: Identity | undefined;
  date: PatchDate | undefined;
  files: FileDiff[];
}

/** Reads one patch file; nothing here touches the repository. */
export function parsePatchFile(opts: {
  text: string;
  ctx: PatchContext;
}): Result<ParsedPatch, PatchParseError | PatchEmptyError | PatchBinaryError | PatchUnsafePathError> {
  const { ctx } = opts;
  const split = splitPatch(opts.text);
  if ('problem' in split) return err(new PatchParseError(ctx, split.problem));
  const files = parseDiff({ text: split.diff, firstLine: split.diffLine });
  if ('problem' in files) {
    if (files.problem === 'binary') return err(new PatchBinaryError(ctx, files.file));
    if (files.problem === 'unsafe') return err(new PatchUnsafePathError(ctx, files.file, files.why));
    return err(new PatchParseError(ctx, files.detail));
  }
  if (files.length === 0) return err(new PatchEmptyError(ctx));
  const { subject, body, author, date } = split.header;
  // A bare diff still needs a subject; the file name is what the packager knows it by.
  const first = subject ?? `Apply ${ctx.patch}`;
  return ok({ message: body ? `${first}\n\n${body}\n` : `${first}\n`, author, date, files });
}
