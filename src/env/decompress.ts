import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import xz from 'xz-decompress';
import { which } from '../runner/podman/which.js';

// xz and zstd run as child processes when their binaries exist: decompression is most
// of compose's CPU time, and a child runs beside Node. The child writes one scratch
// file that is read back whole: measured here, reading a pipe in 64 KiB chunks cost
// a third more time than the decompression itself. xz falls back to the xz-decompress
// WASM library; no zstd library is installed, so zstd members need the `zstd` binary.

export type Compression = 'xz' | 'zst' | 'gz' | 'none';

export function compressionOf(member: string): Compression | undefined {
  const m = /^data\.tar(?:\.(xz|zst|gz))?$/.exec(member);
  if (!m) return undefined;
  return (m[1] as Compression | undefined) ?? 'none';
}

const found = new Map<string, string | undefined>();
function tool(name: string): string | undefined {
  if (!found.has(name)) found.set(name, which({ name }));
  return found.get(name);
}

export function canDecompress(c: Compression): boolean {
  return c !== 'zst' || tool('zstd') !== undefined;
}

/** The decompressed bytes; throws with the decompressor's words when the data is bad. */
export async function decompress(opts: { data: Buffer; compression: Compression; scratch: string }): Promise<Buffer> {
  const { data, compression } = opts;
  if (compression === 'none') return data;
  if (compression === 'gz') return promisify(gunzip)(data);
  const bin = tool(compression === 'xz' ? 'xz' : 'zstd');
  if (!bin && compression === 'xz') {
    const { XzReadableStream } = xz;
    const chunks: Uint8Array[] = [];
    for await (const c of new XzReadableStream(new Blob([data]).stream()) as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
    return Buffer.concat(chunks);
  }
  if (!bin) throw new Error('bug: decompress(zst) called without canDecompress');
  let fd: number | undefined = openSync(opts.scratch, 'wx', 0o600);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(bin, ['-dc'], { stdio: ['pipe', fd, 'pipe'] });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      child.stdin!.on('error', () => undefined); // the exit status tells what went wrong
      child.stdin!.end(data);
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${bin} -dc failed (exit ${code}): ${stderr.trim() || 'corrupt data'}`))));
    });
    closeSync(fd);
    fd = undefined;
    return await readFile(opts.scratch);
  } finally {
    // closed exactly once: a second close could hit a descriptor reused meanwhile
    if (fd !== undefined) closeSync(fd);
    await rm(opts.scratch, { force: true });
  }
}
