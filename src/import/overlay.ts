import type { Entry, FileText, MetadataSource, Provenance } from '../metadata/source.js';

/**
 * The work tree as it will be once the importer's files are written: `weld check`'s own
 * validation runs on it before anything is written, so a file that would not pass is
 * never written at all.
 */
export class OverlaySource implements MetadataSource {
  constructor(
    private readonly base: MetadataSource,
    /** project-relative path → text */
    private readonly files: Map<string, string>,
  ) {}

  get root(): string {
    return this.base.root;
  }

  async list(dir: string): Promise<Entry[]> {
    const entries = await this.base.list(dir);
    const names = new Set(entries.map((e) => e.name));
    const added: Entry[] = [];
    for (const f of this.files.keys()) {
      const slash = f.lastIndexOf('/');
      if (f.slice(0, slash) !== dir) continue;
      const name = f.slice(slash + 1);
      if (!names.has(name)) added.push({ name, type: 'file' });
    }
    return [...entries, ...added].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async read(file: string): Promise<string | undefined> {
    return this.files.get(file) ?? this.base.read(file);
  }

  async readUtf8(file: string): Promise<FileText | undefined> {
    return this.files.get(file) ?? this.base.readUtf8(file);
  }

  display(file: string): string {
    return this.base.display(file);
  }

  provenance(): Promise<Provenance> {
    return this.base.provenance();
  }
}
