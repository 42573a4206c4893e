import { promises as fsp, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { decodeUtf8, type TextProblem } from './text.js';

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

/** A directory entry: a file, a directory, or something weld will not read (`why` says what it is). */
export type Entry = { name: string; type: 'file' | 'dir' } | { name: string; type: 'unsafe'; why: string };

/** A metadata file's text, or why it is not text (where its first byte that is not UTF-8 sits). */
export type FileText = string | { invalid: TextProblem };

/**
 * Read access to the project's files, by project-relative POSIX path, from the work
 * tree or from a commit of the metadata repository.
 */
export interface MetadataSource {
  /** absolute project root on disk (for a ref: the work tree it belongs to) */
  readonly root: string;
  /** names of the entries of a directory, or [] when it does not exist */
  list(dir: string): Promise<Entry[]>;
  /** a file's text (bytes that are not UTF-8 become U+FFFD), or undefined when it does not exist */
  read(file: string): Promise<string | undefined>;
  /** a file's text, strictly UTF-8, or undefined when it does not exist */
  readUtf8(file: string): Promise<FileText | undefined>;
  /** the path as shown in diagnostics */
  display(file: string): string;
  provenance(): Promise<Provenance>;
}

export class WorkTreeSource implements MetadataSource {
  constructor(
    readonly root: string,
    private readonly cwd: string,
  ) {}

  async list(dir: string): Promise<Entry[]> {
    try {
      const entries = await fsp.readdir(path.join(this.root, dir), { withFileTypes: true });
      return entries
        .map((e): Entry | undefined => (e.isSymbolicLink() ? this.link(dir, e.name) : e.isFile() || e.isDirectory() ? { name: e.name, type: e.isDirectory() ? 'dir' : 'file' } : undefined))
        .filter((e): e is Entry => e !== undefined)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
      throw e;
    }
  }

  /**
   * A symlink is followed only when it stays inside the top directory it sits in
   * (metadata/ or recipes/): metadata that reads files from elsewhere on the machine
   * would build differently on every machine, and could be made to read anything.
   */
  private link(dir: string, name: string): Entry {
    const top = path.join(this.root, dir.split('/')[0]!);
    const at = path.join(this.root, dir, name);
    let real: string;
    try {
      real = realpathSync(at);
    } catch {
      return { name, type: 'unsafe', why: 'is a symlink whose target does not exist' };
    }
    const inside = path.relative(realpathSync(top), real);
    if (inside.startsWith('..') || path.isAbsolute(inside)) return { name, type: 'unsafe', why: `is a symlink to ${real}, outside ${path.relative(this.root, top) || '.'}/` };
    const st = statSync(real);
    return st.isDirectory() ? { name, type: 'dir' } : st.isFile() ? { name, type: 'file' } : { name, type: 'unsafe', why: 'is a symlink to something that is neither a file nor a directory' };
  }

  async readUtf8(file: string): Promise<FileText | undefined> {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path.join(this.root, file));
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
      throw e;
    }
    const d = decodeUtf8(bytes);
    return d.ok ? d.text : { invalid: d.problem };
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
