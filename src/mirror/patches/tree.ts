import fs from 'node:fs';
import git from 'isomorphic-git';

// An immutable view of a git tree that patches change in memory. Each change copies
// only the directories on the path to the root and shares everything else, so the
// tree after every patch of a series stays available, and nothing reaches the object
// database until the whole series has applied (write() then writes only new trees).

export interface Repo {
  gitdir: string;
  /** isomorphic-git's object cache, shared by every read of one series */
  cache: object;
}

interface BlobEntry {
  type: 'blob';
  mode: string;
  /** set for blobs read from the repository; new content has bytes until written */
  oid?: string;
  bytes?: Uint8Array;
}
interface TreeEntry {
  type: 'tree';
  /** set while the directory is unchanged from the repository */
  oid?: string;
  node?: Dir;
}
/** A submodule link: carried through untouched. */
interface LinkEntry {
  type: 'commit';
  mode: string;
  oid: string;
}
type Entry = BlobEntry | TreeEntry | LinkEntry;

interface Dir {
  /** the stored tree this directory is, while unchanged */
  oid?: string;
  entries: ReadonlyMap<string, Entry>;
}

export interface FileContent {
  mode: string;
  bytes: Uint8Array;
}

export type PathKind = 'file' | 'dir' | 'other';

export class Tree {
  private constructor(
    private readonly repo: Repo,
    private readonly root: Dir,
  ) {}

  static async load(opts: { repo: Repo; oid: string }): Promise<Tree> {
    return new Tree(opts.repo, await readDir(opts.repo, opts.oid));
  }

  /** What is at `path` (files include symlinks); undefined when nothing is. */
  async kind(path: string): Promise<PathKind | undefined> {
    const e = await this.entry(path);
    if (!e) return undefined;
    return e.type === 'blob' ? 'file' : e.type === 'tree' ? 'dir' : 'other';
  }

  /** The first ancestor of `path` that is a file or submodule, if any: it blocks creating `path`. */
  async blockingParent(path: string): Promise<string | undefined> {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      const k = await this.kind(prefix);
      if (k === undefined) return undefined;
      if (k !== 'dir') return prefix;
    }
    return undefined;
  }

  async readFile(path: string): Promise<FileContent | undefined> {
    const e = await this.entry(path);
    if (e?.type !== 'blob') return undefined;
    if (e.bytes) return { mode: e.mode, bytes: e.bytes };
    const { blob } = await git.readBlob({ fs, gitdir: this.repo.gitdir, oid: e.oid!, cache: this.repo.cache });
    return { mode: e.mode, bytes: blob };
  }

  /** Moves or copies a file's stored blob without reading it (renames, mode changes). */
  async copyFile(opts: { from: string; to: string; mode?: string }): Promise<Tree> {
    const e = await this.entry(opts.from);
    if (e?.type !== 'blob') throw new Error(`bug: copyFile from ${opts.from}, which is not a file`);
    return this.put(opts.to, { ...e, mode: opts.mode ?? e.mode });
  }

  async writeFile(path: string, content: FileContent): Promise<Tree> {
    return this.put(path, { type: 'blob', mode: content.mode, bytes: content.bytes });
  }

  /** Removes a file, and any directory that it leaves empty (git cannot store one). */
  async remove(path: string): Promise<Tree> {
    return this.put(path, undefined);
  }

  /** The names in directory `dir` ([] is the root) with their kinds; [] when it is no directory. */
  async list(dir: string[]): Promise<Array<{ name: string; kind: PathKind; mode?: string }>> {
    let d = this.root;
    for (const c of dir) {
      const e = d.entries.get(c);
      if (e?.type !== 'tree') return [];
      d = await openDir(this.repo, e);
    }
    return [...d.entries].map(([name, e]) => (e.type === 'blob' ? { name, kind: 'file', mode: e.mode } : { name, kind: e.type === 'tree' ? 'dir' : 'other' }));
  }

  /** Every symlink in the tree, by path. */
  async symlinks(dir: string[] = []): Promise<string[]> {
    const out: string[] = [];
    for (const e of await this.list(dir)) {
      if (e.kind === 'dir') out.push(...(await this.symlinks([...dir, e.name])));
      else if (e.mode === '120000') out.push([...dir, e.name].join('/'));
    }
    return out;
  }

  /** Writes the new blobs and trees; returns the root tree's oid. */
  async write(): Promise<string> {
    return writeDir(this.repo, this.root);
  }

  private async entry(path: string): Promise<Entry | undefined> {
    let dir = this.root;
    const parts = path.split('/');
    for (let i = 0; i < parts.length; i++) {
      const e = dir.entries.get(parts[i]!);
      if (!e || i === parts.length - 1) return e;
      if (e.type !== 'tree') return undefined;
      dir = await openDir(this.repo, e);
    }
    return undefined;
  }

  private async put(path: string, leaf: Entry | undefined): Promise<Tree> {
    return new Tree(this.repo, await putIn(this.repo, this.root, path.split('/'), leaf));
  }
}

async function putIn(repo: Repo, dir: Dir, parts: string[], leaf: Entry | undefined): Promise<Dir> {
  const [head, ...rest] = parts;
  const entries = new Map(dir.entries);
  if (rest.length === 0) {
    if (leaf) entries.set(head!, leaf);
    else entries.delete(head!);
  } else {
    const current = entries.get(head!);
    if (current && current.type !== 'tree') throw new Error(`bug: ${head} is a ${current.type}, not a directory`);
    const child = current ? await openDir(repo, current) : { entries: new Map<string, Entry>() };
    const changed = await putIn(repo, child, rest, leaf);
    if (changed.entries.size === 0) entries.delete(head!);
    else entries.set(head!, { type: 'tree', node: changed });
  }
  return { entries };
}

async function openDir(repo: Repo, e: TreeEntry): Promise<Dir> {
  if (!e.node) e.node = await readDir(repo, e.oid!); // caching a read, not a change
  return e.node;
}

async function readDir(repo: Repo, oid: string): Promise<Dir> {
  const { tree } = await git.readTree({ fs, gitdir: repo.gitdir, oid, cache: repo.cache });
  const entries = new Map<string, Entry>();
  for (const t of tree) {
    if (t.type === 'tree') entries.set(t.path, { type: 'tree', oid: t.oid });
    else if (t.type === 'commit') entries.set(t.path, { type: 'commit', mode: t.mode, oid: t.oid });
    else entries.set(t.path, { type: 'blob', mode: t.mode, oid: t.oid });
  }
  return { oid, entries };
}

async function writeDir(repo: Repo, dir: Dir): Promise<string> {
  if (dir.oid) return dir.oid;
  const tree = [];
  for (const [path, e] of dir.entries) {
    if (e.type === 'tree') {
      tree.push({ mode: '040000', path, type: 'tree' as const, oid: e.node ? await writeDir(repo, e.node) : e.oid! });
    } else if (e.type === 'commit') {
      tree.push({ mode: e.mode, path, type: 'commit' as const, oid: e.oid });
    } else {
      if (!e.oid) e.oid = await git.writeBlob({ fs, gitdir: repo.gitdir, blob: e.bytes! }); // memoised: later snapshots share this entry
      tree.push({ mode: e.mode, path, type: 'blob' as const, oid: e.oid });
    }
  }
  const oid = await git.writeTree({ fs, gitdir: repo.gitdir, tree });
  dir.oid = oid; // memoised: a written directory is shared by later snapshots
  return oid;
}
