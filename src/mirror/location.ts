import path from 'node:path';

// Where a package's mirror lives: the staging code, the mirror driver and the builds
// all ask, so it stands apart from each of them.

/** A package's bare mirror repository, `<mirrors>/<pkg>.git`. */
export function mirrorPath(mirrorsDir: string, pkg: string): string {
  return path.join(mirrorsDir, `${pkg}.git`);
}
