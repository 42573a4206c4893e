import { UnknownPackageError, UsageError, type WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import type { Metadata } from '../metadata/model.js';
import { normalizeName } from '../metadata/names.js';
import { closest } from '../util/suggest.js';

/**
 * Package names as typed on the command line → the metadata's names, in order, each once.
 * Every verb that takes package names goes through here, so an unknown one fails the same
 * way everywhere: a usage error naming every unknown name as it was typed.
 */
export function packageNames(opts: { verb: string; typed: string[]; metadata: Metadata }): Result<string[], UnknownPackageError> {
  const known = [...opts.metadata.packages.keys()];
  const names: string[] = [];
  const unknown: Array<{ typed: string; suggestion?: string }> = [];
  for (const typed of opts.typed) {
    const n = normalizeName(typed);
    if (!opts.metadata.packages.has(n)) {
      const suggestion = closest(n, known);
      unknown.push({ typed, ...(suggestion ? { suggestion } : {}) });
    } else if (!names.includes(n)) names.push(n);
  }
  return unknown.length ? err(new UnknownPackageError({ verb: opts.verb, names: unknown })) : ok(names);
}

/**
 * A library's error about something typed on the command line (an env or compose name, a
 * digest): a usage error, exit 2, keeping the library's code, message and hint.
 */
export class ArgumentError extends UsageError {
  override readonly code: string;
  constructor(readonly from: WeldError) {
    super(from.message, from.hint);
    this.code = from.code;
  }
  override toJSON(): Record<string, unknown> {
    return this.from.toJSON();
  }
}

/** `r` with its error made an ArgumentError: for calls whose only failure is a bad argument. */
export function asArgument<T>(r: Result<T, WeldError>): Result<T, UsageError> {
  return r.ok || r.error instanceof UsageError ? (r as Result<T, UsageError>) : err(new ArgumentError(r.error));
}
