import type { Diagnostic } from './diagnostics.js';

// One class per failure kind, each with a stable `code` so `--json` consumers and
// tests can match on it (after isomorphic-git's src/errors/).
export abstract class WeldError extends Error {
  abstract readonly code: string;
  /** a sentence telling the user what to do next, printed under the message */
  hint?: string;

  constructor(message: string, hint?: string) {
    super(message);
    if (hint) this.hint = hint;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...(this.hint ? { hint: this.hint } : {}) };
  }
}

/**
 * Wrong command line: unknown verb, unknown flag, missing argument, a value that is not
 * one, a name the metadata does not have. Exit status 2; always printed as text, since it
 * is for the person typing. Subclasses keep their own `code`.
 */
export class UsageError extends WeldError {
  readonly code: string = 'E_USAGE';
}

/** The metadata failed validation; every problem is in `diagnostics`. */
export class MetadataInvalidError extends WeldError {
  readonly code = 'E_METADATA_INVALID';
  constructor(readonly diagnostics: Diagnostic[]) {
    const n = diagnostics.filter((d) => d.severity === 'error').length;
    super(`metadata has ${n} error${n === 1 ? '' : 's'}`);
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), diagnostics: this.diagnostics };
  }
}

/** No metadata directory could be found from where weld was started. */
export class MetadataNotFoundError extends WeldError {
  readonly code = 'E_METADATA_NOT_FOUND';
  constructor(
    readonly searchedFrom: string,
    readonly lookedFor: string,
  ) {
    super(lookedFor === 'weld.toml' ? `no weld.toml in ${searchedFrom}` : `no ${lookedFor} in ${searchedFrom} or any directory above it`);
    this.hint = 'run weld inside a project with metadata/weld.toml, or pass --metadata <dir> (or set WELD_METADATA)';
  }
}

/** A git ref given with --ref does not exist, or the metadata is not in a git repository. */
export class GitRefError extends WeldError {
  readonly code = 'E_GIT_REF';
}

/** A package named on the command line that the metadata does not have. */
export class UnknownPackageError extends UsageError {
  override readonly code = 'E_UNKNOWN_PACKAGE';
  /** as typed, not normalised: the user must recognise what they wrote */
  readonly packages: string[];
  constructor(opts: { verb: string; names: Array<{ typed: string; suggestion?: string }> }) {
    const one = (n: { typed: string; suggestion?: string }) => `"${n.typed}"${n.suggestion ? ` (did you mean "${n.suggestion}"?)` : ''}`;
    const [first, ...more] = opts.names;
    if (!first) throw new Error('bug: UnknownPackageError without a name');
    super(
      more.length === 0
        ? `weld ${opts.verb}: no package named "${first.typed}"${first.suggestion ? `; did you mean "${first.suggestion}"?` : ''}`
        : `weld ${opts.verb}: no packages named ${opts.names.map(one).join(', ')}`,
    );
    this.packages = opts.names.map((n) => n.typed);
    this.hint = 'run `weld list` to see every package';
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), packages: this.packages };
  }
}
