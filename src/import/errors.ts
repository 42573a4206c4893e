import { WeldError } from '../core/errors.js';

/** A requirements file (or an include of one) cannot be read or holds something pip would not take. */
export class RequirementsFileError extends WeldError {
  readonly code = 'E_REQUIREMENTS_FILE';
}

/** A simple index answered with something that is not a PEP 503/691 page, or not at all. */
export class SimpleIndexError extends WeldError {
  readonly code = 'E_SIMPLE_INDEX';
}

/** An sdist or .orig tarball could not be read as a Python source tree. */
export class SdistError extends WeldError {
  readonly code = 'E_SDIST';
}

/** The distro gives the importer nothing to evaluate markers against (no builder env lock). */
export class ImportTargetError extends WeldError {
  readonly code = 'E_IMPORT_TARGET';
}

/** Why one project could not be imported; the summary lists every one. */
export interface Unresolved {
  project: string;
  /** what was asked for, e.g. "==1.2.3" (empty: any version) */
  wanted: string;
  /** who asked: `requirements.txt:3` or `required by jinja2 3.1.2` */
  by: string[];
  why: string;
}

/** Some projects could not be resolved; the rest were imported (or, dry, would be). */
export class ImportUnresolvedError extends WeldError {
  readonly code = 'E_IMPORT_UNRESOLVED';
  constructor(
    readonly unresolved: Unresolved[],
    /** the run's summary, so --json prints one document */
    readonly summary: object,
  ) {
    super(`${unresolved.length} project${unresolved.length === 1 ? '' : 's'} could not be imported: ${unresolved.map((u) => `${u.project}${u.wanted}`).join(', ')}`);
    this.hint = 'each is listed above with why; everything else was imported';
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), unresolved: this.unresolved, summary: this.summary };
  }
}
