import { readFileSync } from 'node:fs';
import path from 'node:path';

// Reading a ref needs no git library: a loose ref is a file holding an oid, a packed
// one a line of packed-refs. This keeps a no-op `weld mirror` from loading
// isomorphic-git (~400 ms) just to learn that nothing changed.

/** The oid a ref names directly (weld's own tags are lightweight), or undefined. */
export function readRefFile(gitdir: string, ref: string): string | undefined {
  try {
    const loose = readFileSync(path.join(gitdir, ref), 'utf8').trim();
    if (/^[0-9a-f]{40,64}$/.test(loose)) return loose;
  } catch {
    /* not loose: look in packed-refs */
  }
  try {
    for (const line of readFileSync(path.join(gitdir, 'packed-refs'), 'utf8').split('\n')) {
      const [oid, name] = line.split(' ');
      if (name === ref && oid && /^[0-9a-f]{40,64}$/.test(oid)) return oid;
    }
  } catch {
    /* no packed refs */
  }
  return undefined;
}
