import fs from 'node:fs';
import git from 'isomorphic-git';

/**
 * The commit an object id names, through annotated tags (at most ten deep); undefined
 * when the object is missing or is not a commit. `where` is a work tree (`dir`) or a
 * bare repository (`gitdir`), as isomorphic-git takes them.
 */
export async function peelToCommit(opts: { where: { dir: string } | { gitdir: string }; oid: string; cache: object }): Promise<string | undefined> {
  let oid = opts.oid;
  for (let i = 0; i < 10; i++) {
    try {
      const o = await git.readObject({ fs, ...opts.where, oid, cache: opts.cache });
      if (o.type === 'commit') return oid;
      if (o.type !== 'tag') return undefined;
      oid = (o.object as { object: string }).object;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
