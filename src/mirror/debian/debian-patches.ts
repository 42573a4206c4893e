import type { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import { err, ok, type Result } from '../../core/result.js';
import type { BlobStore, Digest } from '../blob-store.js';
import { DebianSourceError } from '../errors.js';
import type { PatchInput } from '../patches/series.js';
import { openCompressed } from '../../archive/decompress-stream.js';

/** Patches bigger than this are not Debian packaging; refusing keeps memory bounded. */
const MAX_PATCH = 16 * 2 ** 20;

/**
 * Debian's own quilt patches from a `.debian.tar.*`: the files named by
 * `debian/patches/series`, in its order (comments and `-p` options dropped).
 */
export async function readDebianPatches(opts: { store: BlobStore; digest: Digest; label: string }): Promise<Result<PatchInput[], DebianSourceError>> {
  const blob = await opts.store.get(opts.digest);
  if (!blob.ok) return err(new DebianSourceError(`${opts.label}: not in the store (${opts.digest})`));
  const opened = await openCompressed(blob.value as Readable);
  if (opened.kind !== 'ok') return err(new DebianSourceError(`${opts.label}: ${opened.kind === 'empty' ? 'empty file' : `unsupported compression ${opened.format}`}`));
  const files = new Map<string, Buffer>();
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      const name = entry.path.replace(/^\.\//, '');
      if (entry.type !== 'File' || !name.startsWith('debian/patches/') || entry.size > MAX_PATCH) return void entry.resume();
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => files.set(name.slice('debian/patches/'.length), Buffer.concat(chunks)));
    },
  });
  try {
    for await (const chunk of opened.chunks) if (!parser.write(chunk)) await new Promise((r) => parser.once('drain', r));
    await new Promise<void>((resolve) => parser.end(resolve));
  } catch (e: unknown) {
    return err(new DebianSourceError(`${opts.label}: cannot read the Debian packaging: ${(e as Error).message}`));
  }
  const series = files.get('series');
  if (!series) return ok([]); // a 3.0 (quilt) package without patches
  const out: PatchInput[] = [];
  for (const line of series.toString('utf8').split('\n')) {
    const name = line.replace(/#.*/, '').trim().split(/\s+/)[0];
    if (!name) continue;
    const text = files.get(name);
    if (!text) return err(new DebianSourceError(`${opts.label}: debian/patches/series names ${name}, which is not in the archive`));
    out.push({ name: `debian/${name}`, text: text.toString('utf8') });
  }
  return ok(out);
}
