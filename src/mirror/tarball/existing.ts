import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

// Which objects the repository already has, so that re-importing a release (or a new
// release sharing most files with the last) does not store them a second time.
// Alternates and v1 pack indexes are not consulted: missing one only costs a duplicate.

const IDX_MAGIC = 0xff744f63;

export class ExistingObjects {
  private constructor(
    private readonly objectsDir: string,
    private readonly indexes: Buffer[],
    private readonly looseDirs: Set<string>,
  ) {}

  static async load(gitdir: string): Promise<ExistingObjects> {
    const objectsDir = path.join(gitdir, 'objects');
    const names = await readdir(objectsDir).catch(() => [] as string[]);
    const looseDirs = new Set(names.filter((n) => /^[0-9a-f]{2}$/.test(n)));
    const packDir = path.join(objectsDir, 'pack');
    const packs = (await readdir(packDir).catch(() => [] as string[])).filter((n) => n.startsWith('pack-') && n.endsWith('.idx'));
    const indexes: Buffer[] = [];
    for (const name of packs) {
      const buf = await readFile(path.join(packDir, name)).catch(() => undefined);
      if (buf && isIdxV2(buf)) indexes.push(buf);
    }
    return new ExistingObjects(objectsDir, indexes, looseDirs);
  }

  has(oid: Buffer): boolean {
    for (const idx of this.indexes) if (idxHas(idx, oid)) return true;
    const hex = oid.toString('hex');
    const dir = hex.slice(0, 2);
    return this.looseDirs.has(dir) && existsSync(path.join(this.objectsDir, dir, hex.slice(2)));
  }
}

function isIdxV2(buf: Buffer): boolean {
  if (buf.length < 8 + 1024 || buf.readUInt32BE(0) !== IDX_MAGIC || buf.readUInt32BE(4) !== 2) return false;
  return buf.length >= 8 + 1024 + 20 * buf.readUInt32BE(8 + 4 * 255);
}

/** Binary search in a v2 .idx: the fan-out table narrows to ids with the same first byte. */
function idxHas(idx: Buffer, oid: Buffer): boolean {
  const first = oid[0]!;
  let lo = first === 0 ? 0 : idx.readUInt32BE(8 + 4 * (first - 1));
  let hi = idx.readUInt32BE(8 + 4 * first);
  const names = 8 + 1024;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = idx.compare(oid, 0, 20, names + 20 * mid, names + 20 * mid + 20);
    if (c === 0) return true;
    // idx.compare(target, ...) compares oid against the entry: > 0 means the entry is larger
    if (c > 0) hi = mid;
    else lo = mid + 1;
  }
  return false;
}
