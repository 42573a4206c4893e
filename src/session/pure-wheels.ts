import type { Package } from '../metadata/model.js';
import type { KeyInputs } from '../plan/cache-key.js';
import type { BuildRecord } from '../store/records.js';

// A pure wheel (`py3-none-any`) is the same file on every target, so a matrix build makes
// it once: the first target builds it, and each later target records that build under its
// own cache key (`sharedFrom`) instead of running it again. What the package is made of must
// be the same (version, release, source tree, recipe); its builder env and arch are not
// asked, since a pure wheel's bytes do not depend on them. Tests still run per target.

/** A build whose outputs are wheels and all of them pure. */
export function isPureWheelBuild(kind: Package['kind'], record: BuildRecord): boolean {
  return kind === 'wheel' && record.outputs.length > 0 && record.outputs.every((o) => o.name.endsWith('-none-any.whl'));
}

/** The pure wheels the earlier targets of a matrix build ended with, by package. */
export class PureWheels {
  private readonly byPackage = new Map<string, BuildRecord>();

  /** Takes note of a package's record in one target (the first pure one wins). */
  offer(pkg: Package, record: BuildRecord): void {
    if (!this.byPackage.has(pkg.name) && isPureWheelBuild(pkg.kind, record) && !record.sharedFrom) this.byPackage.set(pkg.name, record);
  }

  /** A pure build of this very package another target made, to record for `inputs`' key. */
  find(pkg: Package, inputs: KeyInputs): BuildRecord | undefined {
    const r = this.byPackage.get(pkg.name);
    if (!r) return undefined;
    const same = r.version === pkg.version && r.release === pkg.release && r.sourceTree === inputs.sourceTree && r.recipe.digest === inputs.recipe.digest;
    return same ? r : undefined;
  }
}

/** The record of `key` that takes a pure build of another target as its own. */
export function sharedRecord(o: { from: BuildRecord; key: BuildRecord['cacheKey']; inputs: KeyInputs }): BuildRecord {
  const { origin: _pulledFrom, ...from } = o.from;
  return {
    ...from,
    cacheKey: o.key,
    arch: o.inputs.arch,
    envImage: o.inputs.envImage,
    dependencies: o.inputs.deps,
    sharedFrom: { cacheKey: o.from.cacheKey, arch: o.from.arch, envImage: o.from.envImage },
  };
}
