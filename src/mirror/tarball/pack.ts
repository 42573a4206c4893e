import crypto from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { PACK_TYPE, type ObjectType } from './objects.js';
import { buildIndex, hashFile, objectHeader, type Written } from './pack-format.js';

// Writes new objects as one packfile + v2 index, the way git's fast-import does: the
// objects go to a tmp file after a placeholder header; at the end the object count
// is filled in, the pack re-read to compute its trailing sha1 (the count is hashed
// first, so the sum cannot be kept while writing), then .pack and .idx are fsynced
// and renamed into place, .idx last, as git only sees a pack once its .idx exists.
// Until then nothing in the repository has changed; tmp_pack_* is git's own prefix,
// so `git gc` removes leftovers of a process killed half way.
//
// A big object is streamed instead (addStream): deflated chunk by chunk straight into
// the file at the current end, hashed on the way. Its id is only known at its end, so
// when it turns out to be there already the end offset is just not advanced: the
// next object overwrites those bytes, and finish() cuts the file after the trailer.

const deflateAsync = promisify(zlib.deflate);

// Level 1, as git uses for loose objects (core.looseCompression): on this machine,
// measured on 40 MB of source text, level 1 deflates at ~86 MB/s to 25.7% and level 6
// at ~48 MB/s to 21.7%; a later `git gc` recompresses anyway. Data that does not
// shrink (archives, images, random test data) is stored (level 0, ~440 MB/s) instead
// of being put through deflate for nothing (level 1 runs at ~48 MB/s on it).
const LEVEL = 1;
const SAMPLE = 16 * 1024;
const SAMPLED_FROM = 64 * 1024;
const INCOMPRESSIBLE = 0.95;
// Small objects are deflated on the main thread: a threadpool round trip through
// zlib's stream machinery costs more than deflating a few KiB (measured: all-async
// 52 MB/s, sync below 32 KiB 89 MB/s on a mixed tree). Bigger ones go to the
// threadpool, where two of them can run beside gunzip on the other core.
const SYNC_BELOW = 32 * 1024;
const WRITE_BATCH = 4 * 1024 * 1024;
// deflate's output chunks for a streamed object: fewer threadpool round trips than the default 16 KiB
const STREAM_CHUNK = 256 * 1024;

export class PackWriter {
  #count = 0;
  #offset = 12; // after the header, written last
  #written: Written[] = [];
  #seen = new Set<string>();
  #batch: Buffer[] = [];
  #batchBytes = 0;
  #tail: Promise<void> = Promise.resolve();
  #inflight: Array<{ bytes: number; finished: boolean; done: Promise<void> }> = [];
  #inflightBytes = 0;
  #closed = false;

  private constructor(
    private readonly dir: string,
    private readonly tmp: string,
    private readonly fh: FileHandle,
    private readonly exists: (oid: Buffer) => boolean,
  ) {}

  /** Opens a tmp pack in `dir` (objects/pack). `exists` says which objects need not be written. */
  static async create(opts: { dir: string; exists: (oid: Buffer) => boolean }): Promise<PackWriter> {
    const tmp = path.join(opts.dir, `tmp_pack_${crypto.randomBytes(6).toString('hex')}`);
    // read-only like git's packs; the open descriptor can still write (and read back)
    const fh = await open(tmp, 'wx+', 0o444);
    return new PackWriter(opts.dir, tmp, fh, opts.exists);
  }

  /**
   * Streams a `size`-byte blob from `data` into the pack after every object queued
   * before it, hashing it on the way; `data` is only read once its turn comes, so a
   * paused source holds the tar parser back. Resolves to its id once written (or
   * found to be there already); rejects with a ShortObjectError when `data` ends
   * early, and with the write error when the disk fails. Either way `data` is drained.
   */
  addStream(opts: { size: number; data: AsyncIterable<Buffer>; drain: () => void }): Promise<Buffer> {
    const { size, data, drain } = opts;
    let oid: Buffer | undefined;
    const entry = { bytes: 0, finished: false, done: Promise.resolve() };
    entry.done = this.#chain(
      async () => {
        oid = await this.#stream(size, data, drain);
      },
      // a failure before its turn: the source still has to be drained for the parser to go on
      drain,
    );
    this.#inflight.push(entry);
    entry.done.then(
      () => (entry.finished = true),
      () => {},
    );
    return entry.done.then(() => oid!);
  }

  /** Queues an object unless the pack or the repository already has it. */
  add(type: ObjectType, oid: Buffer, content: Buffer): void {
    const key = oid.toString('latin1');
    if (this.#seen.has(key) || this.exists(oid)) return;
    this.#seen.add(key);
    const header = objectHeader(PACK_TYPE[type], content.length);
    const level = content.length >= SAMPLED_FROM && !shrinks(content) ? 0 : LEVEL;
    let data: Buffer | Promise<Buffer>;
    let bytes: number;
    if (content.length < SYNC_BELOW) {
      data = zlib.deflateSync(content, { level });
      bytes = data.length;
    } else {
      data = deflateAsync(content, { level });
      data.catch(() => {}); // surfaces through the chain
      bytes = content.length;
    }
    // counted until written: small deflated objects queue up behind a big one too
    const entry = { bytes, finished: false, done: this.#chain(async () => this.#append(oid, header, await data)) };
    this.#inflight.push(entry);
    this.#inflightBytes += bytes;
    entry.done.then(
      () => {
        entry.finished = true;
        this.#inflightBytes -= bytes;
      },
      () => {},
    );
  }

  // Writes happen in the order objects were added, each after the one before, so
  // offsets are known when written; deflating runs ahead concurrently.
  #chain(step: () => Promise<void>, onSkipped?: () => void): Promise<void> {
    const next = this.#tail.then(step, (e: unknown) => {
      onSkipped?.();
      throw e;
    });
    next.catch(() => {}); // a failure is reported by settle() or finish(), not as unhandled
    this.#tail = next;
    return next;
  }

  /** Waits until at most `limit` bytes of objects are waiting to be deflated and written. */
  async settle(limit: number): Promise<void> {
    while (this.#inflight[0]?.finished) this.#inflight.shift();
    while (this.#inflightBytes > limit) {
      const first = this.#inflight.shift();
      if (!first) break;
      await first.done;
    }
  }

  async #append(oid: Buffer, header: Buffer, data: Buffer): Promise<void> {
    const crc = zlib.crc32(data, zlib.crc32(header));
    this.#written.push({ oid, offset: this.#offset, crc });
    this.#offset += header.length + data.length;
    this.#count++;
    this.#batch.push(header, data);
    this.#batchBytes += header.length + data.length;
    if (this.#batchBytes >= WRITE_BATCH) await this.#flush();
  }

  async #stream(size: number, data: AsyncIterable<Buffer>, drain: () => void): Promise<Buffer> {
    await this.#flush();
    const start = this.#offset;
    const header = objectHeader(PACK_TYPE.blob, size);
    const hash = crypto.createHash('sha1').update(`blob ${size}\0`);
    const sink = new PackSink(this.fh, start, header);
    let got = 0;
    const counted = (async function* (): AsyncGenerator<Buffer> {
      for await (const c of data) {
        hash.update(c);
        got += c.length;
        yield c;
      }
    })();
    try {
      // the level is picked from the first bytes, as add() does
      const { head, done } = await readHead(counted, SAMPLE);
      const level = size >= SAMPLED_FROM && !shrinks(head) ? 0 : LEVEL;
      await pipeline(replay(head, done, counted), zlib.createDeflate({ level, chunkSize: STREAM_CHUNK }), sink);
    } catch (e) {
      drain();
      throw e;
    }
    if (got !== size) throw new ShortObjectError(got, size);
    const oid = hash.digest();
    const key = oid.toString('latin1');
    if (this.#seen.has(key) || this.exists(oid)) return oid;
    this.#seen.add(key);
    this.#written.push({ oid, offset: start, crc: sink.crc });
    this.#offset = sink.at;
    this.#count++;
    return oid;
  }

  async #flush(): Promise<void> {
    if (this.#batch.length === 0) return;
    const bufs = this.#batch;
    const pos = this.#offset - this.#batchBytes;
    this.#batch = [];
    this.#batchBytes = 0;
    await this.fh.writev(bufs, pos);
  }

  /**
   * Completes the pack and moves it into place. Returns its name, or undefined when
   * every object was already in the repository (nothing is written then).
   */
  async finish(): Promise<{ name: string; objects: number } | undefined> {
    await this.#tail;
    await this.#flush();
    if (this.#count === 0) {
      await this.discard();
      return undefined;
    }
    const header = Buffer.alloc(12);
    header.write('PACK', 0, 'latin1');
    header.writeUInt32BE(2, 4);
    header.writeUInt32BE(this.#count, 8);
    await this.fh.write(header, 0, 12, 0);
    const sum = await hashFile(this.fh, this.#offset);
    await this.fh.write(sum, 0, 20, this.#offset);
    // a streamed object found to be a duplicate may have left bytes past the end
    await this.fh.truncate(this.#offset + 20);
    await this.fh.sync();
    await this.fh.close();
    this.#closed = true;

    const idx = buildIndex(this.#written, sum);
    const name = `pack-${sum.toString('hex')}`;
    const packPath = path.join(this.dir, `${name}.pack`);
    const tmpIdx = path.join(this.dir, `tmp_idx_${crypto.randomBytes(6).toString('hex')}`);
    let packMoved = false;
    try {
      const ih = await open(tmpIdx, 'wx', 0o444);
      try {
        await ih.writeFile(idx);
        await ih.sync();
      } finally {
        await ih.close();
      }
      await rename(this.tmp, packPath);
      packMoved = true;
      await rename(tmpIdx, path.join(this.dir, `${name}.idx`));
    } catch (e) {
      // a .pack without its .idx is invisible to git, but leave nothing behind either
      await unlink(tmpIdx).catch(() => {});
      if (packMoved) await unlink(packPath).catch(() => {});
      throw e;
    }
    await syncDir(this.dir);
    return { name, objects: this.#count };
  }

  /** Removes the tmp pack; the repository is left as it was. */
  async discard(): Promise<void> {
    // let queued writes end before unlinking, so none lands after
    await this.#tail.catch(() => {});
    if (!this.#closed) {
      this.#closed = true;
      await this.fh.close().catch(() => {});
    }
    await unlink(this.tmp).catch(() => {});
  }
}

/** The streamed data ended before the size its header announced. */
export class ShortObjectError extends Error {
  constructor(
    readonly got: number,
    readonly size: number,
  ) {
    super(`the data ends after ${got} of ${size} bytes`);
  }
}

/** The first `n` bytes (or all, if fewer) of `it`, and whether it is exhausted. */
async function readHead(it: AsyncIterator<Buffer>, n: number): Promise<{ head: Buffer; done: boolean }> {
  const parts: Buffer[] = [];
  let got = 0;
  while (got < n) {
    const r = await it.next();
    if (r.done) return { head: Buffer.concat(parts), done: true };
    parts.push(r.value);
    got += r.value.length;
  }
  return { head: parts.length === 1 ? parts[0]! : Buffer.concat(parts), done: false };
}

async function* replay(head: Buffer, done: boolean, it: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  if (done) return;
  for (;;) {
    const r = await it.next();
    if (r.done) return;
    yield r.value;
  }
}

/** Writes one pack entry, header first, at `start`, keeping its CRC32 and end. */
class PackSink extends Writable {
  crc: number;
  /** where the entry ends so far */
  at: number;
  constructor(
    private readonly fh: FileHandle,
    start: number,
    private readonly header: Buffer,
  ) {
    super({ highWaterMark: STREAM_CHUNK });
    this.crc = zlib.crc32(header);
    this.at = start;
  }
  override _construct(cb: (e?: Error | null) => void): void {
    this.#put(this.header).then(() => cb(), cb);
  }
  override _write(chunk: Buffer, _enc: string, cb: (e?: Error | null) => void): void {
    this.crc = zlib.crc32(chunk, this.crc);
    this.#put(chunk).then(() => cb(), cb);
  }
  async #put(buf: Buffer): Promise<void> {
    const pos = this.at;
    this.at += buf.length;
    for (let done = 0; done < buf.length; ) done += (await this.fh.write(buf, done, buf.length - done, pos + done)).bytesWritten;
  }
}

function shrinks(content: Buffer): boolean {
  const sample = content.subarray(0, SAMPLE);
  return zlib.deflateSync(sample, { level: LEVEL }).length < sample.length * INCOMPRESSIBLE;
}

async function syncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
