import type { DebEntry } from './deb.js';
import type { TarEntry } from '../archive/tar-write.js';

// One layer from many .debs: entries merged by path (a later deb in lock order wins,
// with a warning when it really changes something), the files maintainer scripts would
// have made and a build needs, sorted, with fixed owners and mtimes.

export interface LayerEntry extends TarEntry {
  /** hardlinked files share a group */
  group?: string;
}

export interface LayerPlan {
  entries: LayerEntry[];
  warnings: string[];
}

const same = (a: LayerEntry, b: LayerEntry) => a.type === b.type && a.mode === b.mode && a.link === b.link && (a.data === b.data || (a.data !== undefined && b.data !== undefined && a.data.equals(b.data)));

export function planLayer(opts: { debs: Array<{ deb: string; entries: DebEntry[] }> }): LayerPlan {
  const byPath = new Map<string, LayerEntry & { from: string }>();
  const warnings: string[] = [];
  opts.debs.forEach(({ deb, entries }, i) => {
    const own = new Map<string, LayerEntry & { from: string }>();
    for (const e of entries) {
      const entry: LayerEntry & { from: string } = { path: e.path, type: e.type, mode: e.mode, from: deb, ...(e.link !== undefined ? { link: e.link } : {}), ...(e.data ? { data: e.data } : {}) };
      if (e.type === 'hardlink') {
        const target = own.get(e.link!);
        if (!target || target.type !== 'file') {
          warnings.push(`${deb}: hardlink ${e.path} → ${e.link} has no earlier file to point at; left out`);
          continue;
        }
        target.group ??= `${i}:${target.path}`;
        Object.assign(entry, { type: 'file', data: target.data, group: target.group });
        delete entry.link;
      }
      own.set(e.path, entry);
      const old = byPath.get(e.path);
      if (old && old.type === 'dir' && e.type === 'dir') continue; // shared directories: the first deb's mode stays
      if (old && !same(old, entry)) warnings.push(`${e.path}: ${deb} replaces the ${old.type} from ${old.from}`);
      byPath.set(e.path, entry);
    }
  });
  addSystemFiles({ byPath, warnings });
  for (const p of [...byPath.keys()]) {
    for (let at = p.lastIndexOf('/'); at > 0; at = p.lastIndexOf('/', at - 1)) {
      const parent = p.slice(0, at);
      if (byPath.has(parent)) break;
      byPath.set(parent, { path: parent, type: 'dir', mode: 0o755, from: 'weld' });
    }
  }
  const entries = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  // A hardlink must follow the file it names: the first member of a group in sorted
  // order carries the bytes, the others link to it.
  const leader = new Map<string, string>();
  const out: LayerEntry[] = entries.map(({ from: _from, ...e }) => {
    if (!e.group) return e;
    const first = leader.get(e.group);
    if (first === undefined) {
      leader.set(e.group, e.path);
      return e;
    }
    return { path: e.path, type: 'hardlink', mode: e.mode, link: first };
  });
  return { entries: out, warnings };
}

/** What the skipped maintainer scripts would have left that a build relies on. */
function addSystemFiles(opts: { byPath: Map<string, LayerEntry & { from: string }>; warnings: string[] }): void {
  const { byPath } = opts;
  // base-passwd's postinst copies its masters into place
  for (const f of ['passwd', 'group']) {
    const master = byPath.get(`usr/share/base-passwd/${f}.master`);
    if (byPath.has(`etc/${f}`)) continue;
    if (master?.data) byPath.set(`etc/${f}`, { path: `etc/${f}`, type: 'file', mode: 0o644, data: master.data, from: 'weld' });
    else opts.warnings.push(`no /etc/${f}: base-passwd is not in the env`);
  }
  byPath.set('tmp', { path: 'tmp', type: 'dir', mode: 0o1777, from: 'weld' });
}
