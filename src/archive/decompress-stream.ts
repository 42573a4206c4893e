import { Readable, pipeline } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import zlib from 'node:zlib';
import unbzip2Stream from 'unbzip2-stream';
import xz from 'xz-decompress';
import { ArchiveInputError, DecompressError } from './errors.js';

const { XzReadableStream } = xz;

// The streaming decompressors, in process: gzip (zlib), xz (xz-decompress, WASM) and
// bzip2 (unbzip2-stream). An async iterator can only fail by rejecting, so failures
// while reading come as the typed values ArchiveInputError and DecompressError.

export type Compression = 'gzip' | 'xz' | 'bzip2' | 'zstd' | 'none';
/** What streams here; zstd has no library that Node 20 runs (see decompress.ts). */
export type StreamCompression = Exclude<Compression, 'zstd'>;

// Decided by magic bytes: a URL's suffix says nothing reliable about the bytes behind it.
const MAGIC: Array<{ bytes: number[]; name: Compression | string }> = [
  { bytes: [0x1f, 0x8b], name: 'gzip' },
  { bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], name: 'xz' },
  { bytes: [0x42, 0x5a, 0x68], name: 'bzip2' }, // "BZh", then a block size digit (checked below)
  { bytes: [0x28, 0xb5, 0x2f, 0xfd], name: 'zstd' },
  { bytes: [0x4c, 0x5a, 0x49, 0x50], name: 'lzip' },
  { bytes: [0x04, 0x22, 0x4d, 0x18], name: 'lz4' },
  { bytes: [0x1f, 0x9d], name: 'compress (.Z)' },
  { bytes: [0x50, 0x4b, 0x03, 0x04], name: 'zip' },
  { bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], name: '7z' },
  { bytes: [0x52, 0x61, 0x72, 0x21], name: 'rar' },
];
// one tar header: enough to see the ustar magic at offset 257
const HEAD = 512;

export type Opened =
  | { kind: 'ok'; compression: StreamCompression; chunks: AsyncGenerator<Buffer, void, undefined> }
  | { kind: 'empty' }
  | { kind: 'unsupported'; format: string };

/** The compression of data that starts with `head` (at least 512 bytes, or all there is), by its magic bytes. */
export function sniffCompression(head: Buffer): Compression | { unsupported: string } {
  if (isTarHeader(head)) return 'none';
  const found = MAGIC.find((m) => m.bytes.every((b, i) => head[i] === b) && (m.name !== 'bzip2' || isBlockSize(head[3])))?.name ?? 'none';
  return found === 'none' || found === 'gzip' || found === 'xz' || found === 'bzip2' || found === 'zstd' ? found : { unsupported: found };
}

/**
 * Sniffs the compression of `input` and returns its decompressed bytes. Read and
 * decompression failures surface while iterating, as ArchiveInputError / DecompressError.
 * Stopping the iteration early destroys `input`.
 */
export async function openCompressed(input: Readable): Promise<Opened> {
  const it = readInput(input);
  let head: Buffer = Buffer.alloc(0);
  while (head.length < HEAD) {
    const r = await it.next();
    if (r.done) break;
    head = head.length === 0 ? r.value : Buffer.concat([head, r.value]);
  }
  if (head.length === 0) {
    await it.return(undefined);
    return { kind: 'empty' };
  }
  const found = sniffCompression(head);
  if (typeof found !== 'string' || found === 'zstd') {
    await it.return(undefined);
    return { kind: 'unsupported', format: typeof found === 'string' ? found : found.unsupported };
  }
  return { kind: 'ok', compression: found, chunks: decompressChunks({ chunks: replay(head, it), compression: found }) };
}

/** The decompressed bytes of `input`, whose compression is known (a file name said so). */
export function decompressStream(opts: { input: Readable; compression: StreamCompression }): AsyncGenerator<Buffer, void, undefined> {
  return decompressChunks({ chunks: readInput(opts.input), compression: opts.compression });
}

/** The decompressed bytes of `chunks`; failures reject the iteration as DecompressError. */
export function decompressChunks(opts: { chunks: AsyncGenerator<Buffer, void, undefined>; compression: StreamCompression }): AsyncGenerator<Buffer, void, undefined> {
  const { chunks, compression } = opts;
  switch (compression) {
    case 'none':
      return chunks;
    case 'gzip':
      return viaStream(chunks, 'gzip', (src) => pipeline(src, zlib.createGunzip(), () => {}));
    case 'xz':
      return viaStream(chunks, 'xz', (src) => Readable.fromWeb(new XzReadableStream(Readable.toWeb(src)) as ReadableStream));
    case 'bzip2':
      return bunzip2(chunks);
  }
}

// A plain tar whose first name happens to start with "BZh" or "Rar!" is still tar.
function isTarHeader(head: Buffer): boolean {
  return head.length >= 263 && head.toString('latin1', 257, 262) === 'ustar';
}

function isBlockSize(b: number | undefined): boolean {
  return b !== undefined && b >= 0x31 && b <= 0x39;
}

async function* readInput(input: Readable): AsyncGenerator<Buffer, void, undefined> {
  const it = input[Symbol.asyncIterator]();
  try {
    for (;;) {
      let r: IteratorResult<unknown>;
      try {
        r = await it.next();
      } catch (e) {
        throw new ArchiveInputError(e instanceof Error ? e.message : String(e));
      }
      if (r.done) return;
      const c = r.value;
      if (typeof c === 'string') throw new ArchiveInputError('the input stream yields strings; give it bytes (no setEncoding)');
      yield asBuffer(c as Uint8Array);
    }
  } finally {
    // destroys the stream when the import stops early (error, refusal)
    await it.return?.();
  }
}

async function* replay(head: Buffer, rest: AsyncGenerator<Buffer, void, undefined>): AsyncGenerator<Buffer, void, undefined> {
  try {
    yield head;
    for (;;) {
      const r = await rest.next();
      if (r.done) return;
      yield r.value;
    }
  } finally {
    await rest.return(undefined);
  }
}

/** Runs `compressed` through a Node stream decompressor; its errors become DecompressError. */
async function* viaStream(compressed: AsyncGenerator<Buffer, void, undefined>, compression: StreamCompression, make: (src: Readable) => Readable): AsyncGenerator<Buffer, void, undefined> {
  const src = Readable.from(compressed, { objectMode: false });
  const out = make(src);
  try {
    for await (const c of out) yield asBuffer(c as Uint8Array);
  } catch (e) {
    if (e instanceof ArchiveInputError) throw e;
    throw new DecompressError(compression, e instanceof Error ? e.message : String(e));
  } finally {
    out.destroy();
    src.destroy();
  }
}

// unbzip2-stream is an old-style `through` stream whose write() decompresses
// synchronously; driving it by hand keeps backpressure simple and errors in one place.
async function* bunzip2(compressed: AsyncGenerator<Buffer, void, undefined>): AsyncGenerator<Buffer, void, undefined> {
  const bz = unbzip2Stream();
  const out: Buffer[] = [];
  let failure: unknown;
  bz.on('data', (c: Buffer) => out.push(c));
  bz.on('error', (e: unknown) => (failure ??= e));
  const check = () => {
    if (failure !== undefined) throw new DecompressError('bzip2', failure instanceof Error ? failure.message : String(failure));
  };
  try {
    for await (const c of compressed) {
      bz.write(c);
      check();
      yield* out.splice(0);
    }
    bz.end();
    check();
    yield* out.splice(0);
  } finally {
    await compressed.return(undefined);
  }
}

function asBuffer(c: Uint8Array): Buffer {
  return Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}
