import type { MetadataSource, Provenance } from './source.js';

type Entry = { name: string; type: 'file' | 'dir' };

/**
 * Every directory listing and file text that validation reads, taken in one pass.
 * Validation then runs on this in-memory copy, and its digest keys the cache.
 */
export interface Snapshot {
  dirs: Map<string, Entry[]>;
  files: Map<string, string | undefined>;
}

export async function takeSnapshot(opts: { source: MetadataSource; metaDir: string }): Promise<Snapshot> {
  const { source, metaDir } = opts;
  const dirs = new Map<string, Entry[]>();
  const files = new Map<string, string | undefined>();
  const list = async (dir: string) => {
    const entries = await source.list(dir);
    dirs.set(dir, entries);
    return entries;
  };
  // A directory where a file is expected reads as missing, which validation reports.
  const readAll = async (dir: string, entries: Entry[]) => {
    await Promise.all(entries.map(async (e) => files.set(`${dir}/${e.name}`, e.type === 'file' ? await source.read(`${dir}/${e.name}`) : undefined)));
  };
  for (const f of ['weld.toml', 'weld.lock']) files.set(`${metaDir}/${f}`, await source.read(`${metaDir}/${f}`));
  await list('recipes');
  await Promise.all(['packages', 'envs', 'composes'].map(async (d) => readAll(`${metaDir}/${d}`, await list(`${metaDir}/${d}`))));
  const patchDirs = (await list(`${metaDir}/patches`)).filter((e) => e.type === 'dir');
  await Promise.all(patchDirs.map(async (e) => readAll(`${metaDir}/patches/${e.name}`, await list(`${metaDir}/patches/${e.name}`))));
  return { dirs, files };
}

/** Serves a snapshot through the MetadataSource interface; paths and provenance come from the original. */
export class SnapshotSource implements MetadataSource {
  constructor(
    private readonly snapshot: Snapshot,
    private readonly base: MetadataSource,
  ) {}

  get root(): string {
    return this.base.root;
  }

  async list(dir: string): Promise<Entry[]> {
    const entries = this.snapshot.dirs.get(dir);
    if (!entries) throw new Error(`bug: ${dir} was listed but is not in the snapshot`);
    return entries;
  }

  async read(file: string): Promise<string | undefined> {
    if (!this.snapshot.files.has(file)) throw new Error(`bug: ${file} was read but is not in the snapshot`);
    return this.snapshot.files.get(file);
  }

  display(file: string): string {
    return this.base.display(file);
  }

  provenance(): Promise<Provenance> {
    return this.base.provenance();
  }
}
