import type { WeldError } from '../core/errors.js';
import type { Result } from '../core/result.js';
import type { SourceEntry } from '../mirror/debian/sources-index.js';

/** Where a version of a project can come from, and what its package file's [upstream] says then. */
export type CandidateOrigin =
  | { kind: 'debian'; source: string; suite: string; debianVersion: string; orig: string; /** not the builder env's suite: written as [upstream] suite */ otherSuite: boolean; entry: SourceEntry }
  | { kind: 'index'; url: string; filename: string };

/** One version of one project that a source offers. */
export interface Candidate {
  /** PEP 440 */
  version: string;
  origin: CandidateOrigin;
  /** sha256 hex of the tarball, as the source promises it */
  sha256: string;
  /** PEP 345 Requires-Python, when the index says */
  requiresPython?: string;
  /** PEP 592: yanked files are taken only for an exact pin */
  yanked?: boolean;
}

/** What one source offers for a project. */
export interface SourceOffer {
  /** e.g. "debian bookworm" or "index http://…/simple" */
  name: string;
  candidates: Candidate[];
  /** versions the source has that could not be offered, and why (a Debian version that is not PEP 440, say) */
  skipped: string[];
}

export interface ProjectSource {
  readonly name: string;
  /** the candidates for a PEP 503-normalised project name */
  offer(key: string): Promise<Result<SourceOffer, WeldError>>;
  /** the tarball's bytes, verified against the candidate's sha256 */
  fetch(c: Candidate): Promise<Result<Buffer, WeldError>>;
}

/** How a candidate is named in messages and in the imported file's comment. */
export function describeCandidate(c: Candidate): string {
  return c.origin.kind === 'debian' ? `debian:${c.origin.suite}/${c.origin.source} ${c.origin.debianVersion} (${c.origin.orig})` : `${c.origin.url}`;
}
