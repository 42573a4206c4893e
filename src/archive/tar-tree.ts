import { createWriteStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { err, ok, type Result } from '../core/result.js';
import { TarSourceError } from './errors.js';
import { Batcher, TAR_END, type TarEntry } from './tar-write.js';

// A directory tree (a pack's prefix) as a tar that depends only on names, contents,
// modes and links: names sorted per directory, depth first, one mtime, owner root, a
// hard-linked file stored once and linked after. The same writer as env and image layers.

type Planned = TarEntry & { file?: string; mtime: number };

/** Writes the tree below `dir` (not `dir` itself) to `file` as a tar; nothing is half-said: a failure names the entry. */
export async function writeTreeTar(opts: { dir: string; mtime: number; file: string }): Promise<Result<{ entries: number }, TarSourceError>> {
  const planned = await planTree(opts.dir);
  if (!planned.ok) return planned;
  const out = createWriteStream(opts.file, { flags: 'w', mode: 0o644 });
  const closed = new Promise<Error | undefined>((resolve) => {
    out.once('error', resolve);
    out.once('close', () => resolve(undefined));
  });
  const write = async (chunks: Iterable<Buffer>) => {
    for (const c of chunks) if (!out.write(c)) await new Promise<void>((r) => out.once('drain', () => r()));
  };
  const batch = new Batcher();
  try {
    for (const e of planned.value) {
      // Read one file at a time: a prefix can hold large libraries.
      const data = e.file ? await readFile(e.file) : undefined;
      await write(batch.entry(tarEntry(e, data), opts.mtime));
    }
    await write(batch.add(TAR_END));
    await write(batch.flush());
  } catch (e: unknown) {
    out.destroy();
    await closed;
    return err(new TarSourceError(opts.file, (e as Error).message));
  }
  out.end();
  const failed = await closed;
  if (failed) return err(new TarSourceError(opts.file, failed.message));
  return ok({ entries: planned.value.length });
}

/**
 * Several trees as one tar stream, each under its own prefix (`weld/src/…`), with the
 * directories in `dirs` made first (the trees' own directories come with their mode and mtime): how a build's inputs are copied into a container on
 * a remote engine (`podman cp - CTR:/`), where bind mounts cannot reach. Unlike a pack's
 * tarball, it keeps each entry's own mtime: the recipe sees what a bind mount shows.
 */
export async function treesTar(opts: { trees: Array<{ dir: string; prefix: string }>; dirs: string[] }): Promise<Result<AsyncGenerator<Buffer>, TarSourceError>> {
  const plans: Array<{ prefix: string; root: Planned; entries: Planned[] }> = [];
  for (const t of opts.trees) {
    const planned = await planTree(t.dir);
    if (!planned.ok) return planned;
    // the tree's own directory too, with its mode and mtime, as a bind mount shows it
    const s = await lstat(t.dir).catch((e: Error) => e);
    if (s instanceof Error) return err(new TarSourceError(t.dir, s.message));
    plans.push({ prefix: t.prefix, root: { path: t.prefix, type: 'dir', mode: s.mode & 0o7777, mtime: Math.floor(s.mtimeMs / 1000) }, entries: planned.value });
  }
  const now = Math.floor(Date.now() / 1000);
  async function* chunks(): AsyncGenerator<Buffer> {
    const batch = new Batcher();
    for (const d of opts.dirs) yield* batch.entry({ path: d, type: 'dir', mode: 0o755 }, now);
    for (const p of plans) {
      yield* batch.entry(tarEntry(p.root, undefined), p.root.mtime);
      for (const e of p.entries) {
        const data = e.file ? await readFile(e.file) : undefined;
        const placed = { ...e, path: `${p.prefix}/${e.path}`, ...(e.type === 'hardlink' ? { link: `${p.prefix}/${e.link}` } : {}) };
        yield* batch.entry(tarEntry(placed, data), e.mtime);
      }
    }
    yield* batch.add(TAR_END);
    yield* batch.flush();
  }
  return ok(chunks());
}

function tarEntry(e: Planned, data: Buffer | undefined): TarEntry {
  return { path: e.path, type: e.type, mode: e.mode, ...(e.link !== undefined ? { link: e.link } : {}), ...(data ? { data } : {}) };
}

async function planTree(root: string): Promise<Result<Planned[], TarSourceError>> {
  const out: Planned[] = [];
  const seen = new Map<string, string>();
  const walk = async (rel: string): Promise<TarSourceError | undefined> => {
    const abs = path.join(root, rel);
    let names: string[];
    try {
      names = (await readdir(abs)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    } catch (e: unknown) {
      return new TarSourceError(abs, (e as Error).message);
    }
    for (const name of names) {
      const p = rel ? `${rel}/${name}` : name;
      const file = path.join(root, p);
      const s = await lstat(file).catch((e: Error) => e);
      if (s instanceof Error) return new TarSourceError(file, s.message);
      const mode = s.mode & 0o7777;
      if (s.isDirectory()) {
        out.push({ path: p, type: 'dir', mode, mtime: Math.floor(s.mtimeMs / 1000) });
        const failed = await walk(p);
        if (failed) return failed;
      } else if (s.isSymbolicLink()) {
        out.push({ path: p, type: 'symlink', mode, link: await readlink(file), mtime: Math.floor(s.mtimeMs / 1000) });
      } else if (s.isFile()) {
        const id = `${s.dev}:${s.ino}`;
        const first = s.nlink > 1 ? seen.get(id) : undefined;
        if (first !== undefined) out.push({ path: p, type: 'hardlink', mode, link: first, mtime: Math.floor(s.mtimeMs / 1000) });
        else {
          if (s.nlink > 1) seen.set(id, p);
          out.push({ path: p, type: 'file', mode, file, mtime: Math.floor(s.mtimeMs / 1000) });
        }
      } else return new TarSourceError(file, 'it is a device, fifo or socket');
    }
    return undefined;
  };
  const failed = await walk('');
  return failed ? err(failed) : ok(out);
}
