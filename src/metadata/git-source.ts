import fs from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';
import { GitRefError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import { peelToCommit } from '../util/git-objects.js';
import type { Entry, FileText, MetadataSource, Provenance } from './source.js';
import { decodeUtf8 } from './text.js';

// Reads the project's files straight out of git objects, so a respin branch can be
// checked and built without checking it out.

interface Repo {
  dir: string;
  /** the project root's path inside the repository ('' when they coincide) */
  prefix: string;
}

async function findRepo(root: string): Promise<Repo | undefined> {
  try {
    const dir = await git.findRoot({ fs, filepath: root });
    const prefix = path.relative(dir, root).split(path.sep).join('/');
    return { dir, prefix };
  } catch {
    return undefined;
  }
}

async function resolveCommit(dir: string, ref: string, cache: object): Promise<string | undefined> {
  let oid: string | undefined;
  try {
    oid = await git.resolveRef({ fs, dir, ref });
  } catch {
    for (const full of [`refs/tags/${ref}`, `refs/remotes/${ref}`]) {
      try {
        oid = await git.resolveRef({ fs, dir, ref: full });
        break;
      } catch {
        /* try the next namespace */
      }
    }
    if (!oid && /^[0-9a-f]{4,64}$/.test(ref)) {
      try {
        oid = await git.expandOid({ fs, dir, oid: ref, cache });
      } catch {
        /* not an abbreviated id either */
      }
    }
  }
  return oid ? peelToCommit({ where: { dir }, oid, cache }) : undefined;
}

export class GitRefSource implements MetadataSource {
  private readonly cache = {};
  private readonly trees = new Map<string, Promise<Map<string, { oid: string; type: string; mode: string }> | undefined>>();

  private constructor(
    readonly root: string,
    private readonly repo: Repo,
    private readonly ref: string,
    readonly commit: string,
  ) {}

  static async open(opts: { root: string; ref: string }): Promise<Result<GitRefSource, GitRefError>> {
    const repo = await findRepo(opts.root);
    if (!repo) {
      return err(new GitRefError(`--ref ${opts.ref}: ${opts.root} is not inside a git repository`, 'commit the metadata to git (git init && git add metadata recipes && git commit), or drop --ref'));
    }
    if (repo.prefix.startsWith('..')) {
      return err(new GitRefError(`--ref ${opts.ref}: the project root ${opts.root} lies outside the git repository at ${repo.dir}`));
    }
    const cache = {};
    const commit = await resolveCommit(repo.dir, opts.ref, cache);
    if (!commit) {
      return err(new GitRefError(`--ref ${opts.ref}: no branch, tag or commit of that name in ${repo.dir}`, 'list them with `git branch -a` and `git tag`'));
    }
    return ok(new GitRefSource(opts.root, repo, opts.ref, commit));
  }

  private repoPath(file: string): string {
    return this.repo.prefix ? `${this.repo.prefix}/${file}` : file;
  }

  /** A directory's entries by name, read once. */
  private tree(dir: string): Promise<Map<string, { oid: string; type: string; mode: string }> | undefined> {
    let t = this.trees.get(dir);
    if (!t) {
      t = git
        .readTree({ fs, dir: this.repo.dir, oid: this.commit, filepath: dir === '' ? undefined : this.repoPath(dir).replace(/\/$/, ''), cache: this.cache })
        .then((r) => new Map(r.tree.map((e) => [e.path, { oid: e.oid, type: e.type, mode: e.mode }])))
        .catch(() => undefined);
      this.trees.set(dir, t);
    }
    return t;
  }

  async list(dir: string): Promise<Entry[]> {
    const t = await this.tree(dir);
    if (!t) return [];
    const out: Entry[] = [];
    for (const [name, e] of t) {
      if (e.type === 'tree') out.push({ name, type: 'dir' });
      else if (e.type === 'blob' && e.mode === '120000') out.push({ name, type: 'unsafe', why: await this.linkWhy(dir, e.oid) });
      else if (e.type === 'blob') out.push({ name, type: 'file' });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** A committed symlink is not followed: its blob is the target's name, not the file. */
  private async linkWhy(dir: string, oid: string): Promise<string> {
    const target = Buffer.from((await git.readBlob({ fs, dir: this.repo.dir, oid, cache: this.cache })).blob).toString('utf8');
    const top = dir.split('/')[0]!;
    const resolved = path.posix.normalize(path.posix.join(dir, target));
    const outside = target.startsWith('/') || !(resolved === top || resolved.startsWith(`${top}/`));
    return outside ? `is a symlink to ${target}, outside ${top}/` : `is a symlink to ${target}; at a git ref weld does not follow symlinks`;
  }

  private async blob(file: string): Promise<Uint8Array | undefined> {
    const slash = file.lastIndexOf('/');
    const t = await this.tree(slash < 0 ? '' : file.slice(0, slash));
    const entry = t?.get(file.slice(slash + 1));
    if (!entry || entry.type !== 'blob' || entry.mode === '120000') return undefined;
    return (await git.readBlob({ fs, dir: this.repo.dir, oid: entry.oid, cache: this.cache })).blob;
  }

  async read(file: string): Promise<string | undefined> {
    const b = await this.blob(file);
    return b && Buffer.from(b).toString('utf8');
  }

  async readUtf8(file: string): Promise<FileText | undefined> {
    const b = await this.blob(file);
    if (!b) return undefined;
    const d = decodeUtf8(b);
    return d.ok ? d.text : { invalid: d.problem };
  }

  display(file: string): string {
    return `${this.ref}:${this.repoPath(file)}`;
  }

  async provenance(): Promise<Provenance> {
    return { source: 'ref', ref: this.ref, commit: this.commit, dirty: false };
  }
}

/** HEAD's commit and whether metadata/ or recipes/ differ from it. */
export async function worktreeState(root: string): Promise<{ commit: string | null; dirty: boolean }> {
  const repo = await findRepo(root);
  if (!repo) return { commit: null, dirty: true };
  let commit: string | null = null;
  try {
    commit = await git.resolveRef({ fs, dir: repo.dir, ref: 'HEAD' });
  } catch {
    return { commit: null, dirty: true }; // no commit yet: nothing is recorded
  }
  const filepaths = ['metadata', 'recipes'].map((d) => (repo.prefix ? `${repo.prefix}/${d}` : d));
  const rows = await git.statusMatrix({ fs, dir: repo.dir, filepaths });
  // [path, HEAD, workdir, stage]: anything but 1,1,1 differs from HEAD.
  const dirty = rows.some(([, h, w, s]) => !(h === 1 && w === 1 && s === 1));
  return { commit, dirty };
}
