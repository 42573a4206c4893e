import fs from 'node:fs';
import git from 'isomorphic-git';
import { err, ok, type Result } from '../../core/result.js';
import { applyFiles } from './apply.js';
import { PatchBaseError, type PatchError } from './errors.js';
import type { Identity } from './identity.js';
import { parsePatchFile, type ParsedPatch } from './parse.js';
import { Tree } from './tree.js';

// The distro branch's patch step: upstream commit + patch files → one commit per
// patch. Every input to a commit (tree, parent, message, author, dates) comes from
// the base and the patches, never from the clock or the host, so two machines make
// the same commit ids.

export type { Identity } from './identity.js';
export type { PatchError } from './errors.js';

export interface PatchInput {
  /** the file name, e.g. 0001-fix.patch; errors and fallback subjects use it */
  name: string;
  text: string;
}

export interface SeriesResult {
  /** the last commit; the base itself when there are no patches */
  head: string;
  /** the tree of `head` */
  tree: string;
  commits: Array<{ patch: string; oid: string }>;
}

export async function applyPatchSeries(opts: {
  /** a bare repository */
  gitdir: string;
  /** the commit oid to start from */
  base: string;
  /** already in application order */
  patches: PatchInput[];
  /** weld's fixed identity: the committer, and the author of patches that name none */
  committer: Identity;
  /** how messages name the base, e.g. "upstream/6.0"; defaults to its oid */
  baseName?: string;
}): Promise<Result<SeriesResult, PatchError>> {
  const repo = { gitdir: opts.gitdir, cache: {} };
  let baseCommit: Awaited<ReturnType<typeof git.readCommit>>;
  try {
    baseCommit = await git.readCommit({ fs, gitdir: opts.gitdir, oid: opts.base, cache: repo.cache });
  } catch (e) {
    return err(new PatchBaseError(opts.base, e instanceof Error ? e.message : String(e)));
  }
  const baseName = opts.baseName ?? opts.base;

  // Parse every patch before reading a tree: a typo in patch 9 should not wait for patches 1-8.
  const parsed: ParsedPatch[] = [];
  for (const p of opts.patches) {
    const r = parsePatchFile({ text: p.text, ctx: { patch: p.name, base: baseName } });
    if (!r.ok) return r;
    parsed.push(r.value);
  }

  // Apply all in memory; only a series that applies completely writes objects.
  const trees: Tree[] = [];
  let tree = await Tree.load({ repo, oid: baseCommit.commit.tree });
  for (const [i, p] of parsed.entries()) {
    const r = await applyFiles({ tree, files: p.files, ctx: { patch: opts.patches[i]!.name, base: baseName } });
    if (!r.ok) return r;
    tree = r.value;
    trees.push(tree);
  }

  const fallback = {
    timestamp: baseCommit.commit.committer.timestamp,
    timezoneOffset: baseCommit.commit.committer.timezoneOffset,
  };
  let head = opts.base;
  let headTree = baseCommit.commit.tree;
  const commits: SeriesResult['commits'] = [];
  for (const [i, p] of parsed.entries()) {
    headTree = await trees[i]!.write();
    const when = p.date ?? fallback;
    const author = p.author ?? opts.committer;
    head = await git.writeCommit({
      fs,
      gitdir: opts.gitdir,
      commit: {
        message: p.message,
        tree: headTree,
        parent: [head],
        author: { name: author.name, email: author.email, ...when },
        committer: { name: opts.committer.name, email: opts.committer.email, ...when },
      },
    });
    commits.push({ patch: opts.patches[i]!.name, oid: head });
  }
  return ok({ head, tree: headTree, commits });
}
