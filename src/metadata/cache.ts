import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../util/fs.js';
import type { MetadataData } from './model.js';
import type { Snapshot } from './snapshot.js';

// Validated metadata, cached by the digest of everything validation read plus the
// code that validates it. A hit skips parsing and checking (most of `weld check` on
// a large distro); since the key is content, a hit is always what a miss would give.
// Only successes are cached. The cache is an optimisation: failing to read or write
// it never fails a command.

const KEEP = 8;
let codeDigest: string | undefined;

/** Digest of this directory's modules: a new weld build must not reuse old results. */
function validatorDigest(): string {
  if (codeDigest) return codeDigest;
  const dir = path.dirname(fileURLToPath(import.meta.url));
  const h = createHash('sha256');
  for (const f of readdirSync(dir).sort()) {
    if (!/\.(js|ts)$/.test(f)) continue;
    h.update(f + '\0').update(readFileSync(path.join(dir, f))).update('\0');
  }
  return (codeDigest = h.digest('hex'));
}

export function cacheKey(snapshot: Snapshot, metaDir: string): string {
  const h = createHash('sha256');
  h.update(`weld-metadata-v1\0${validatorDigest()}\0${metaDir}\0`);
  for (const dir of [...snapshot.dirs.keys()].sort()) {
    h.update(`d\0${dir}\0`);
    for (const e of snapshot.dirs.get(dir)!) h.update(`${e.type}\0${e.name}\0`);
  }
  for (const file of [...snapshot.files.keys()].sort()) {
    const text = snapshot.files.get(file);
    const body = text === undefined ? '-' : typeof text === 'string' ? `${Buffer.byteLength(text)}\0${text}` : `!${JSON.stringify(text.invalid)}`;
    h.update(`f\0${file}\0${body}\0`);
  }
  return h.digest('hex');
}

export function readCache(dir: string, key: string): MetadataData | undefined {
  try {
    const data = JSON.parse(readFileSync(path.join(dir, `${key}.json`), 'utf8')) as MetadataData;
    const complete = data && typeof data.distro === 'object' && [data.packages, data.envs, data.composes, data.recipes].every(Array.isArray);
    return complete ? data : undefined;
  } catch {
    return undefined;
  }
}

export function writeCache(dir: string, key: string, data: MetadataData): void {
  try {
    writeFileAtomic({ file: path.join(dir, `${key}.json`), data: JSON.stringify(data) });
    const entries = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => ({ f, t: statSync(path.join(dir, f)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    for (const { f } of entries.slice(KEEP)) unlinkSync(path.join(dir, f));
  } catch {
    /* a read-only or full disk only costs the next run its speed */
  }
}
