import crypto from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

// The bytes of git's pack format that do not depend on how objects are written: an entry's
// type-and-size header, the v2 .idx, and the pack's trailing sha1.

/** Where an object landed in the pack, as its .idx entry needs it. */
export interface Written {
  oid: Buffer;
  offset: number;
  crc: number;
}


export /** The type-and-size header of a pack entry: 3 type bits and a little-endian varint size. */
function objectHeader(type: number, size: number): Buffer {
  const bytes: number[] = [];
  let c = (type << 4) | (size & 0x0f);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(c | 0x80);
    c = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(c);
  return Buffer.from(bytes);
}

export async function hashFile(fh: FileHandle, length: number): Promise<Buffer> {
  const h = crypto.createHash('sha1');
  const buf = Buffer.allocUnsafe(1024 * 1024);
  for (let pos = 0; pos < length; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, length - pos), pos);
    if (bytesRead === 0) throw new Error(`pack shorter than written: ${pos} of ${length} bytes`);
    h.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return h.digest();
}

export /** A v2 .idx: fan-out, sorted ids, CRC32s, offsets (large ones in a 64-bit table), sums. */
function buildIndex(written: Written[], packSum: Buffer): Buffer {
  const objs = [...written].sort((a, b) => Buffer.compare(a.oid, b.oid));
  const n = objs.length;
  const large = objs.filter((o) => o.offset >= 0x80000000).length;
  const buf = Buffer.alloc(8 + 1024 + 28 * n + 8 * large + 40);
  buf.writeUInt32BE(0xff744f63, 0);
  buf.writeUInt32BE(2, 4);
  let i = 0;
  for (let b = 0; b < 256; b++) {
    while (i < n && objs[i]!.oid[0]! <= b) i++;
    buf.writeUInt32BE(i, 8 + 4 * b);
  }
  const names = 8 + 1024;
  const crcs = names + 20 * n;
  const offsets = crcs + 4 * n;
  const largeAt = offsets + 4 * n;
  let nextLarge = 0;
  objs.forEach((o, k) => {
    o.oid.copy(buf, names + 20 * k);
    buf.writeUInt32BE(o.crc >>> 0, crcs + 4 * k);
    if (o.offset < 0x80000000) {
      buf.writeUInt32BE(o.offset, offsets + 4 * k);
    } else {
      buf.writeUInt32BE((0x80000000 | nextLarge) >>> 0, offsets + 4 * k);
      buf.writeBigUInt64BE(BigInt(o.offset), largeAt + 8 * nextLarge);
      nextLarge++;
    }
  });
  const end = largeAt + 8 * large;
  packSum.copy(buf, end);
  crypto.createHash('sha1').update(buf.subarray(0, end + 20)).digest().copy(buf, end + 20);
  return buf;
}
