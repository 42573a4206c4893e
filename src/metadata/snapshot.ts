import type { Entry, FileText, MetadataSource, Provenance } from './source.js';

/**
 * Every directory listing and file text that validation reads, taken in one pass.
 * Validation then runs on this in-memory copy, and its digest keys the cache.
 */
export interface Snapshot {
  dirs: Map<string, Entry[]>;
  files: Map<string, FileText | undefined>;
}

export async function takeSnapshot(opts: { source: MetadataSource; metaDir: string }): Promise<Snapshot> {
  const { source, metaDir } = opts;
  const dirs = new Map<string, Entry[]>();
  const files = new Map<string, FileText | undefined>();
  const list = async (dir: string) => {
    const entries = await source.list(dir);
    dirs.set(dir, entries);
    return entries;
  };
  // A directory where a file is expected reads as missing, which validation reports.
  // TOML must be UTF-8 (checked strictly); patches are diffs of any bytes.
  const readAll = async (dir: string, entries: Entry[], strict: boolean) => {
    await Promise.all(entries.map(async (e) => files.set(`${dir}/${e.name}`, e.type !== 'file' ? undefined : strict ? await source.readUtf8(`${dir}/${e.name}`) : await source.read(`${dir}/${e.name}`))));
  };
  for (const f of ['weld.toml', 'weld.lock']) files.set(`${metaDir}/${f}`, await source.readUtf8(`${metaDir}/${f}`));
  await list('recipes');
  await Promise.all(['packages', 'envs', 'composes'].map(async (d) => readAll(`${metaDir}/${d}`, await list(`${metaDir}/${d}`), true)));
  const patchDirs = (await list(`${metaDir}/patches`)).filter((e) => e.type === 'dir');
  await Promise.all(patchDirs.map(async (e) => readAll(`${metaDir}/patches/${e.name}`, await list(`${metaDir}/patches/${e.name}`), false)));
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

  async readUtf8(file: string): Promise<FileText | undefined> {
    if (!this.snapshot.files.has(file)) throw new Error(`bug: ${file} was read but is not in the snapshot`);
    return this.snapshot.files.get(file);
  }

  async read(file: string): Promise<string | undefined> {
    const t = await this.readUtf8(file);
    return typeof t === 'string' ? t : undefined;
  }

  display(file: string): string {
    return this.base.display(file);
  }

  provenance(): Promise<Provenance> {
    return this.base.provenance();
  }
}
