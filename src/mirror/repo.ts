import fs from 'node:fs';
import git from 'isomorphic-git';
import { peelToCommit } from '../util/git-objects.js';
import type { Identity } from './identity.js';

/** A package's bare mirror repository, `mirrors/<pkg>.git`. */
export interface MirrorRepo {
  gitdir: string;
  /** isomorphic-git's object cache, shared by every call on this repo */
  cache: object;
}


export async function readRef(repo: MirrorRepo, ref: string): Promise<string | undefined> {
  try {
    return await git.resolveRef({ fs, gitdir: repo.gitdir, ref });
  } catch {
    return undefined;
  }
}

/** The commit a ref or oid points at, through annotated tags. */
export function peel(repo: MirrorRepo, oid: string): Promise<string | undefined> {
  return peelToCommit({ where: { gitdir: repo.gitdir }, oid, cache: repo.cache });
}

export async function readCommit(repo: MirrorRepo, oid: string) {
  return (await git.readCommit({ fs, gitdir: repo.gitdir, oid, cache: repo.cache })).commit;
}

/** Writes a commit with the same author and committer, whose date is given: no clock involved. */
export async function writeCommit(
  repo: MirrorRepo,
  opts: { tree: string; parents: string[]; message: string; identity: Identity; timestamp: number; timezoneOffset?: number },
): Promise<string> {
  const who = { ...opts.identity, timestamp: opts.timestamp, timezoneOffset: opts.timezoneOffset ?? 0 };
  return git.writeCommit({
    fs,
    gitdir: repo.gitdir,
    commit: { tree: opts.tree, parent: opts.parents, author: who, committer: who, message: opts.message },
  });
}

/** Values of `Key: value` trailers in a commit message. */
export function trailers(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of message.matchAll(/^([A-Za-z][A-Za-z0-9-]*): (.+)$/gm)) out.set(m[1]!, m[2]!.trim());
  return out;
}
