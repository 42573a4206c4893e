import type { Digest } from '../../store/digest.js';
import { cmp, jsonText, type IndexFile } from './index-pages.js';

/** One wheel of a wheelhouse with where it came from. */
export interface WheelEntry extends IndexFile {
  /** the weld package that built it */
  package: string;
  /** the project name as its METADATA writes it, e.g. MarkupSafe */
  name: string;
  digest: Digest;
  /** the cache key of the build record it is an output of */
  buildKey: Digest;
  /** the distro commit it was built from (metadata/weld.lock), when the lock names it */
  sourceCommit: string | null;
  sourceTree: string;
  arch: string;
  /** SPDX expression from the package's metadata, else the wheel's License field */
  license?: string;
  licenseIsSpdx: boolean;
  summary?: string;
  homepage?: string;
  /** weld packages it needs at run time that are in this wheelhouse */
  runtimeRequires: string[];
}

/** Marks a manifest.json weld wrote, so a re-compose may replace its directory. */
export const MANIFEST_FORMAT = 'weld-wheelhouse/1';

export function renderManifest(o: { name: string; wheels: WheelEntry[] }): string {
  return jsonText({
    format: MANIFEST_FORMAT,
    name: o.name,
    wheels: [...o.wheels]
      .sort((a, b) => cmp(a.file, b.file))
      .map((w) => ({
        name: w.name,
        project: w.project,
        version: w.version,
        file: w.file,
        digest: w.digest,
        size: w.size,
        requiresPython: w.requiresPython ?? null,
        package: w.package,
        buildKey: w.buildKey,
        sourceCommit: w.sourceCommit,
        sourceTree: w.sourceTree,
        arch: w.arch,
      })),
  });
}
