import { readdirSync, readFileSync, statSync } from 'node:fs';
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

/** A ref weld writes at the end of a mirror, once every object exists. */
export interface RefUpdate {
  ref: string;
  oid: string;
}

/** Every ref of a repository, loose ones over packed ones, as git reads them. */
export function listRefs(gitdir: string): Map<string, string> {
  const out = new Map<string, string>();
  try {
    for (const line of readFileSync(path.join(gitdir, 'packed-refs'), 'utf8').split('\n')) {
      const m = /^([0-9a-f]{40,64}) (refs\/\S+)$/.exec(line);
      if (m) out.set(m[2]!, m[1]!);
    }
  } catch {
    /* no packed refs */
  }
  let names: string[] = [];
  try {
    names = readdirSync(path.join(gitdir, 'refs'), { recursive: true, encoding: 'utf8' });
  } catch {
    /* no refs yet */
  }
  for (const name of names) {
    if (name.endsWith('.lock') || statSync(path.join(gitdir, 'refs', name)).isDirectory()) continue;
    const oid = readFileSync(path.join(gitdir, 'refs', name), 'utf8').trim();
    // a symbolic ref ("ref: …") is git's business, not a ref weld moves
    if (/^[0-9a-f]{40,64}$/.test(oid)) out.set(`refs/${name.split(path.sep).join('/')}`, oid);
  }
  return out;
}

/** What is wrong with a ref name by git's check-ref-format rules, or undefined when nothing is. */
export function checkRefName(ref: string): string | undefined {
  if (!ref.startsWith('refs/')) return 'does not start with refs/';
  if (/[\u0000-\u0020\u007f~^:?*[\\]/.test(ref)) return 'holds a space, a control character or one of ~ ^ : ? * [ \\';
  if (ref.includes('..')) return 'holds ".."';
  if (ref.includes('@{')) return 'holds "@{"';
  if (ref.endsWith('/') || ref.includes('//')) return 'has an empty component';
  if (ref.endsWith('.')) return 'ends with "."';
  for (const c of ref.split('/')) {
    if (c.startsWith('.')) return `has a component starting with "." (${c})`;
    if (c.endsWith('.lock')) return `has a component ending in ".lock" (${c})`;
  }
  return undefined;
}
