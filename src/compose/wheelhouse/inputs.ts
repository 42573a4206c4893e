import type { Metadata } from '../../metadata/model.js';
import type { BuildRecord } from '../../store/records.js';
import type { WheelhouseBuild } from './compose.js';

/**
 * What the wheelhouse says about each build besides its wheels: the distro commit from
 * the lock (when the lock's tree is the one the build used), the package's license,
 * summary and homepage, and its run-time requirements that are part of this wheelhouse.
 */
export function wheelhouseBuilds(o: { metadata: Metadata; builds: Map<string, BuildRecord> }): WheelhouseBuild[] {
  const inside = new Set(o.builds.keys());
  return [...o.builds].map(([pkg, record]) => {
    const p = o.metadata.packages.get(pkg);
    const lock = o.metadata.lock[pkg];
    return {
      package: pkg,
      record,
      sourceCommit: lock && lock.tree === record.sourceTree ? lock.distro : null,
      ...(p?.license ? { license: p.license } : {}),
      ...(p?.summary ? { summary: p.summary } : {}),
      ...(p?.homepage ? { homepage: p.homepage } : {}),
      runtimeRequires: (p?.runtimeRequires ?? []).filter((r) => inside.has(r)),
    };
  });
}
