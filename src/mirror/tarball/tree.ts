// The imported tree, held in memory as it is read: names, modes and blob ids only,
// never file contents. Entries later in the archive replace earlier ones, as when
// tar extracts over what it extracted before.

import { resolveLink, sameFold, type LinkVerdict } from './paths.js';

export type Mode = '100644' | '100755' | '120000';

export interface Leaf {
  kind: 'leaf';
  mode: Mode;
  oid: Buffer;
  size: number;
  /** symlink target, for the escape check */
  target?: string;
}

export interface Dir {
  kind: 'dir';
  children: Map<string, Node>;
  /** the archive had an entry for this directory itself (reported if it ends up empty) */
  explicit: boolean;
}

export type Node = Leaf | Dir;

export class MemTree {
  readonly root: Dir = { kind: 'dir', children: new Map(), explicit: true };

  /** Creates the directory (and its parents); a file or symlink in the way is replaced. */
  addDir(components: string[]): void {
    const dir = this.#dir(components);
    dir.explicit = true;
  }

  /** Puts a file or symlink at `components`, replacing whatever was there, even a directory. */
  setLeaf(components: string[], leaf: Leaf): void {
    const parent = this.#dir(components.slice(0, -1));
    parent.children.set(components[components.length - 1]!, leaf);
  }

  get(components: string[]): Node | undefined {
    let node: Node = this.root;
    for (const c of components) {
      if (node.kind !== 'dir') return undefined;
      const next: Node | undefined = node.children.get(c);
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  #dir(components: string[]): Dir {
    let dir = this.root;
    for (const c of components) {
      const next = dir.children.get(c);
      if (next?.kind === 'dir') {
        dir = next;
      } else {
        const made: Dir = { kind: 'dir', children: new Map(), explicit: false };
        dir.children.set(c, made);
        dir = made;
      }
    }
    return dir;
  }

  /** Every leaf with its path components, depth first. */
  *leaves(dir: Dir = this.root, prefix: string[] = []): Generator<{ path: string[]; leaf: Leaf }> {
    for (const [name, node] of dir.children) {
      if (node.kind === 'dir') yield* this.leaves(node, [...prefix, name]);
      else yield { path: [...prefix, name], leaf: node };
    }
  }

  /**
   * Finds a symlink that resolves outside the tree, following symlinks met on the
   * way (a link to `..` is harmless in a subdirectory but not at the top, and another
   * link may lead through it). Returns the first offender, or undefined.
   */
  findEscapingLink(): { path: string; target: string; why: 'escape' | 'loop' } | undefined {
    for (const { path, leaf } of this.leaves()) {
      if (leaf.mode !== '120000') continue;
      const why = this.#resolve(path.slice(0, -1), leaf.target ?? '');
      if (why !== 'inside') return { path: path.join('/'), target: leaf.target ?? '', why };
    }
    return undefined;
  }

  #resolve(start: string[], target: string): LinkVerdict {
    return resolveLink({ start, target, children: (dir, name) => {
      const node = this.get(dir);
      if (node?.kind !== 'dir') return [];
      return sameFold(name, node.children).map(([n, c]) => (c.kind === 'leaf' && c.mode === '120000' ? { name: n, link: c.target ?? '' } : { name: n }));
    } });
  }

  /**
   * Writes every tree object bottom-up through `emit` (which returns the oid) and
   * returns the root's oid, or undefined if the tree holds no file. Directories left
   * empty, which git cannot store, are reported through `onEmptyDir`.
   */
  write(opts: { emit: (content: Buffer) => Buffer; onEmptyDir: (path: string) => void }): Buffer | undefined {
    const r = writeDir(this.root, '', opts.emit);
    if (r.oid !== undefined) for (const p of r.empty) opts.onEmptyDir(p);
    return r.oid;
  }
}

function writeDir(dir: Dir, path: string, emit: (content: Buffer) => Buffer): { oid: Buffer | undefined; empty: string[] } {
  const entries: Array<{ key: Buffer; name: Buffer; mode: string; oid: Buffer }> = [];
  const empty: string[] = [];
  for (const [name, node] of dir.children) {
    const nameBytes = Buffer.from(name, 'utf8');
    if (node.kind === 'dir') {
      const sub = writeDir(node, path === '' ? name : `${path}/${name}`, emit);
      for (const p of sub.empty) empty.push(p);
      if (sub.oid === undefined) continue;
      // git sorts a directory as if its name ended in '/'
      entries.push({ key: Buffer.concat([nameBytes, SLASH]), name: nameBytes, mode: '40000', oid: sub.oid });
    } else {
      entries.push({ key: nameBytes, name: nameBytes, mode: node.mode, oid: node.oid });
    }
  }
  if (entries.length === 0) return { oid: undefined, empty: dir.explicit && path !== '' ? [path] : empty };
  entries.sort((a, b) => Buffer.compare(a.key, b.key));
  const parts: Buffer[] = [];
  for (const e of entries) parts.push(Buffer.from(`${e.mode} `), e.name, NUL, e.oid);
  return { oid: emit(Buffer.concat(parts)), empty };
}

const SLASH = Buffer.from('/');
const NUL = Buffer.from([0]);
