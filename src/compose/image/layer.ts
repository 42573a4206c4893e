import type { TarEntry } from '../../archive/tar-write.js';
import type { InstalledFile } from './install.js';

/** The installed files as layer entries: their directories added (0755), sorted by path. */
export function installLayerEntries(files: InstalledFile[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  for (const f of files) byPath.set(f.path, { path: f.path, type: 'file', mode: f.mode, data: f.data });
  for (const f of files) {
    for (let at = f.path.lastIndexOf('/'); at > 0; at = f.path.lastIndexOf('/', at - 1)) {
      const dir = f.path.slice(0, at);
      if (byPath.has(dir)) break;
      byPath.set(dir, { path: dir, type: 'dir', mode: 0o755 });
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
