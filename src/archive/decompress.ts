import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { err, ok, type Result } from '../core/result.js';
import { which } from '../util/which.js';
import { decompressChunks, type Compression } from './decompress-stream.js';
import { DecompressError, ToolMissingError } from './errors.js';
import { plainName, runInHelper } from './spawn-helper.js';

// Whole buffers (a .deb's data member). xz and zstd run as child processes when their
// binaries exist: decompression is most of env compose's CPU time, and a child runs
// beside Node. They are started by a helper shell (spawn-helper.ts: forking Node itself
// costs more the more memory it holds) and work from scratch files: the input written
// next to the scratch path, the output read back whole (measured here, reading a pipe in
// 64 KiB chunks cost a third more time than the decompression itself). Without the binary, xz and bzip2 use the in-process stream decompressors.
// zstd needs the `zstd` binary: Node 20's zlib has no zstd (22.15 has), and no
// well-kept pure-JS zstd decoder is in the project's dependencies; Debian's debs are xz.

export type { Compression } from './decompress-stream.js';

const found = new Map<string, string | undefined>();
function tool(name: string): string | undefined {
  if (!found.has(name)) found.set(name, which({ name }));
  return found.get(name);
}

const BINARY: Partial<Record<Compression, { bin: string; pkg: string }>> = { xz: { bin: 'xz', pkg: 'xz-utils' }, zstd: { bin: 'zstd', pkg: 'zstd' } };

/** The decompressed bytes, or why not: damaged data, or (zstd) a missing binary. */
export async function decompressBuffer(opts: {
  data: Buffer;
  compression: Compression;
  /** a path the decompressor may use for one file */
  scratch: string;
  /** what the data is, for a missing tool's message: "to read <for>" */
  for: string;
}): Promise<Result<Buffer, DecompressError | ToolMissingError>> {
  const { data, compression } = opts;
  if (compression === 'none') return ok(data);
  if (compression === 'gzip') {
    try {
      return ok(await promisify(gunzip)(data));
    } catch (e: unknown) {
      return err(new DecompressError('gzip', (e as Error).message));
    }
  }
  const binary = BINARY[compression];
  const bin = binary && tool(binary.bin);
  if (bin) return viaChild({ bin, data, compression, scratch: opts.scratch });
  if (compression === 'zstd') return err(new ToolMissingError('zstd', 'zstd', `to read ${opts.for} (it is zstd-compressed)`));
  const out: Buffer[] = [];
  try {
    for await (const c of decompressChunks({ chunks: (async function* () { yield data; })(), compression })) out.push(c);
  } catch (e: unknown) {
    if (e instanceof DecompressError) return err(e);
    throw e;
  }
  return ok(Buffer.concat(out));
}

async function viaChild(opts: { bin: string; data: Buffer; compression: Compression; scratch: string }): Promise<Result<Buffer, DecompressError>> {
  const dir = path.dirname(opts.scratch);
  const name = path.basename(opts.scratch);
  if (!plainName(name)) throw new Error(`bug: scratch name ${JSON.stringify(name)} is not a plain file name`);
  const files = ['in', 'out', 'err'].map((ext) => `${opts.scratch}.${ext}`);
  try {
    await writeFile(files[0]!, opts.data, { flag: 'wx', mode: 0o600 });
    const status = await runInHelper({ bin: opts.bin, dir, name });
    if (status !== 0) {
      const stderr = typeof status === 'number' ? (await readFile(files[2]!, 'utf8').catch(() => '')).trim() : status;
      return err(new DecompressError(opts.compression, `${path.basename(opts.bin)} -dc failed${typeof status === 'number' ? ` (exit ${status})` : ''}: ${stderr || 'corrupt data'}`));
    }
    return ok(await readFile(files[1]!));
  } finally {
    await Promise.all(files.map((f) => rm(f, { force: true })));
  }
}
