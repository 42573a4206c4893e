import { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import { openCompressed } from '../archive/decompress-stream.js';
import { err, ok, type Result } from '../core/result.js';
import { SdistError } from './errors.js';

/**
 * What the importer needs of a source tarball (an sdist or a Debian .orig): every path in
 * it, relative to its single top directory, and the text of the few small files that
 * hold metadata. Streamed, so a large tree (or a decompression bomb) costs no memory
 * beyond its names.
 */
export interface SourceTree {
  /** file and directory paths, without the top directory, `/`-separated */
  paths: Set<string>;
  /** texts of the metadata files found, by path */
  texts: Map<string, string>;
}

const MAX_TEXT = 4 * 2 ** 20;
const MAX_ENTRIES = 1_000_000;

/** Metadata files, by path below the top directory. */
function wanted(p: string): boolean {
  return /^(PKG-INFO|pyproject\.toml|setup\.cfg|(src\/)?[^/]+\.egg-info\/(PKG-INFO|requires\.txt|top_level\.txt))$/.test(p);
}

export async function readSourceTree(opts: { bytes: Buffer; label: string }): Promise<Result<SourceTree, SdistError>> {
  const opened = await openCompressed(Readable.from([opts.bytes]));
  if (opened.kind !== 'ok') return err(new SdistError(`${opts.label}: ${opened.kind === 'empty' ? 'empty file' : `not a tarball weld can read (${opened.format})`}`, 'weld imports .tar.gz, .tar.xz and .tar.bz2 sources'));
  const raw: Array<{ path: string; dir: boolean }> = [];
  const rawTexts = new Map<string, Buffer>();
  let refused: string | undefined;
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      const name = entry.path.replace(/^\.\//, '').replace(/\/+$/, '');
      if (raw.length >= MAX_ENTRIES) refused ??= `more than ${MAX_ENTRIES} entries`;
      if (!name || name.split('/').includes('..') || name.startsWith('/')) return void entry.resume();
      raw.push({ path: name, dir: entry.type === 'Directory' });
      const rel = name.includes('/') ? name.slice(name.indexOf('/') + 1) : '';
      if (entry.type !== 'File' || !wanted(rel) || entry.size > MAX_TEXT) return void entry.resume();
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => rawTexts.set(name, Buffer.concat(chunks)));
    },
  });
  let parseError: Error | undefined;
  parser.on('error', (e: Error) => (parseError ??= e));
  parser.on('warn', (_code: string, message: string | Error) => (parseError ??= message instanceof Error ? message : new Error(message)));
  try {
    for await (const chunk of opened.chunks) {
      if (refused || parseError) break;
      if (!parser.write(chunk)) await new Promise((r) => parser.once('drain', r));
    }
    await new Promise<void>((resolve) => parser.end(resolve));
  } catch (e: unknown) {
    return err(new SdistError(`${opts.label}: cannot read the tarball: ${(e as Error).message}`));
  }
  if (refused) return err(new SdistError(`${opts.label}: ${refused}; that is not a source tarball weld imports`));
  if (parseError) return err(new SdistError(`${opts.label}: not a valid tar archive: ${parseError.message}`));
  if (raw.length === 0) return err(new SdistError(`${opts.label}: the tarball is empty`));
  // sdists and .origs hold one top directory (name-version/): paths are taken below it
  const tops = new Set(raw.map((e) => e.path.split('/')[0]!));
  if (tops.size !== 1) return err(new SdistError(`${opts.label}: the tarball has ${tops.size} top-level entries (${[...tops].slice(0, 3).join(', ')}…), not one directory`));
  const top = [...tops][0]!;
  const strip = (p: string) => p.slice(top.length + 1);
  const paths = new Set<string>();
  for (const e of raw) {
    const rel = strip(e.path);
    if (!rel) continue;
    paths.add(rel);
    // directories that have no entry of their own still exist
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) paths.add(parts.slice(0, i).join('/'));
  }
  const texts = new Map<string, string>();
  for (const [p, b] of rawTexts) texts.set(strip(p), b.toString('utf8'));
  return ok({ paths, texts });
}
