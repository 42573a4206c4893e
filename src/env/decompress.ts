import { spawn } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import xz from 'xz-decompress';
import { which } from '../runner/podman/which.js';

// xz and zstd run as child processes when their binaries exist: decompression is most
// of compose's CPU time, and a child runs on another core while Node writes the layer.
// xz falls back to the xz-decompress WASM library; zstd has no library installed here,
// so the `zstd` binary is required for .deb members compressed with it.

export type Compression = 'xz' | 'zst' | 'gz' | 'none';

export function compressionOf(member: string): Compression | undefined {
  const m = /^data\.tar(?:\.(xz|zst|gz))?$/.exec(member);
  if (!m) return undefined;
  return (m[1] as Compression | undefined) ?? 'none';
}

let found: Map<string, string | undefined> | undefined;
function tool(name: string): string | undefined {
  found ??= new Map();
  if (!found.has(name)) found.set(name, which({ name }));
  return found.get(name);
}

export function canDecompress(c: Compression): boolean {
  return c !== 'zst' || tool('zstd') !== undefined;
}

/** The decompressed bytes of `data` as a stream; errors surface as stream errors. */
export function decompress(opts: { data: Buffer; compression: Compression }): Readable {
  const { data, compression } = opts;
  if (compression === 'none') return Readable.from([data]);
  if (compression === 'gz') return Readable.from([data]).pipe(createGunzip());
  const bin = tool(compression === 'xz' ? 'xz' : 'zstd');
  if (!bin && compression === 'xz') {
    const { XzReadableStream } = xz;
    return Readable.fromWeb(new XzReadableStream(new Blob([data]).stream()) as import('node:stream/web').ReadableStream<Uint8Array>);
  }
  if (!bin) throw new Error('bug: decompress(zst) called without canDecompress');
  const child = spawn(bin, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin.on('error', () => undefined); // the exit status below tells what went wrong
  child.stdin.end(data);
  // The stream ends only once the exit status is known, so a decompressor failing
  // after its last byte still fails the read instead of passing for a short member.
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  child.stdout.pipe(out, { end: false });
  let stdoutDone = false;
  let exit: number | null | undefined;
  const settle = () => {
    if (!stdoutDone || exit === undefined) return;
    if (exit === 0) out.end();
    else out.destroy(new Error(`${bin} -dc failed (exit ${exit}): ${stderr.trim() || 'corrupt data'}`));
  };
  child.stdout.on('end', () => ((stdoutDone = true), settle()));
  child.on('close', (code) => ((exit = code), settle()));
  child.on('error', (e) => out.destroy(e));
  return out;
}
