import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';

/** Where metadata was read from, for build records and provenance. */
export interface Provenance {
  source: 'worktree' | 'ref';
  /** the ref as given with --ref */
  ref?: string;
  /** commit id of HEAD (work tree) or of the ref; null when not in a git repository */
  commit: string | null;
  /** work tree only: metadata/ or recipes/ differ from HEAD (including untracked files) */
  dirty: boolean;
}

/**
 * Read access to the project's files, by project-relative POSIX path, from the work
 * tree or from a commit of the metadata repository.
 */
export interface MetadataSource {
  /** absolute project root on disk (for a ref: the work tree it belongs to) */
  readonly root: string;
  /** names of the entries of a directory, or [] when it does not exist */
  list(dir: string): Promise<Array<{ name: string; type: 'file' | 'dir' }>>;
  /** a file's text, or undefined when it does not exist */
  read(file: string): Promise<string | undefined>;
  /** the path as shown in diagnostics */
  display(file: string): string;
  provenance(): Promise<Provenance>;
}

export class WorkTreeSource implements MetadataSource {
  constructor(
    readonly root: string,
    private readonly cwd: string,
  ) {}

  async list(dir: string): Promise<Array<{ name: string; type: 'file' | 'dir' }>> {
    try {
      const entries = await fsp.readdir(path.join(this.root, dir), { withFileTypes: true });
      return entries
        .filter((e) => e.isFile() || e.isDirectory())
        .map((e) => ({ name: e.name, type: e.isDirectory() ? ('dir' as const) : ('file' as const) }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
      throw e;
    }
  }

  async read(file: string): Promise<string | undefined> {
    // Synchronous on purpose: metadata files are small, and fs.promises.readFile costs
    // four thread-pool round trips per file (open, fstat, read, close), which made
    // reading 1,000 package files several times slower than the parsing.
    try {
      return readFileSync(path.join(this.root, file), 'utf8');
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  display(file: string): string {
    const abs = path.join(this.root, file);
    const rel = path.relative(this.cwd, abs);
    return rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel.split(path.sep).join('/');
  }

  async provenance(): Promise<Provenance> {
    // isomorphic-git costs ~400 ms to load: only pay for it when provenance is asked for.
    const { worktreeState } = await import('./git-source.js');
    const state = await worktreeState(this.root);
    return { source: 'worktree', ...state };
  }
}
