// The one tar writer (env layers, image layers, oci-archives, pack prefixes): ustar
// headers, a PAX record only for names that do not fit, and every field that could
// vary (owner, mtime, names of PAX headers) fixed, so the same entries give the same bytes.

export type TarType = 'file' | 'dir' | 'symlink' | 'hardlink';

export interface TarHeader {
  path: string;
  type: TarType;
  mode: number;
  size?: number;
  link?: string;
  mtime: number;
}

/** 1980-01-01: fixed, and old enough for zip-based tools (wheels) that reject earlier dates. */
export const FIXED_MTIME = 315_532_800;

/** One entry to write; a file's bytes in memory. */
export interface TarEntry {
  path: string;
  type: TarType;
  mode: number;
  /** symlink target as written; hardlink target as an archive path written before it */
  link?: string;
  data?: Buffer;
}

const TYPEFLAG: Record<TarType, string> = { file: '0', hardlink: '1', symlink: '2', dir: '5' };

function octal(buf: Buffer, at: number, width: number, value: number): void {
  const s = value.toString(8).padStart(width - 1, '0');
  if (s.length > width - 1) throw new Error(`bug: ${value} does not fit a ${width}-byte tar field`);
  buf.write(s, at, 'latin1');
}

function rawHeader(opts: { name: string; type: string; mode: number; size: number; link: string; mtime: number }): Buffer {
  const b = Buffer.alloc(512);
  b.write(opts.name, 0, 100, 'utf8');
  octal(b, 100, 8, opts.mode);
  octal(b, 108, 8, 0);
  octal(b, 116, 8, 0);
  octal(b, 124, 12, opts.size);
  octal(b, 136, 12, opts.mtime);
  b.write(opts.type, 156, 1, 'latin1');
  b.write(opts.link, 157, 100, 'utf8');
  b.write('ustar\x0000', 257, 8, 'latin1');
  b.write('root', 265, 32, 'latin1');
  b.write('root', 297, 32, 'latin1');
  octal(b, 329, 8, 0);
  octal(b, 337, 8, 0);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, '0') + '\x00 ', 148, 8, 'latin1');
  return b;
}

function paxRecord(key: string, value: string): string {
  // the record's length counts its own digits: iterate to the fixed point
  const body = ` ${key}=${value}\n`;
  const n = Buffer.byteLength(body);
  let total = n + 1;
  while (total !== n + String(total).length) total = n + String(total).length;
  return `${total}${body}`;
}

export const padding = (size: number): Buffer => Buffer.alloc((512 - (size % 512)) % 512);

/** The header blocks of one entry (a PAX header first when a name is too long). */
export function tarHeader(h: TarHeader): Buffer {
  const name = h.type === 'dir' && !h.path.endsWith('/') ? `${h.path}/` : h.path;
  const link = h.link ?? '';
  const size = h.type === 'file' ? (h.size ?? 0) : 0;
  const parts: Buffer[] = [];
  let pax = '';
  if (Buffer.byteLength(name) > 100) pax += paxRecord('path', name);
  if (Buffer.byteLength(link) > 100) pax += paxRecord('linkpath', link);
  if (pax) {
    const body = Buffer.from(pax, 'utf8');
    parts.push(rawHeader({ name: 'PaxHeader', type: 'x', mode: 0o644, size: body.length, link: '', mtime: h.mtime }), body, padding(body.length));
  }
  parts.push(rawHeader({ name: truncate(name), type: TYPEFLAG[h.type], mode: h.mode & 0o7777, size, link: truncate(link), mtime: h.mtime }));
  return Buffer.concat(parts);
}

/** The ustar field keeps a prefix of a long name (the PAX record holds all of it). */
function truncate(s: string): string {
  let out = s;
  while (Buffer.byteLength(out) > 100) out = out.slice(0, -1);
  return out;
}

/** Two zero blocks end an archive. */
export const TAR_END = Buffer.alloc(1024);

/**
 * The archive of `entries` (in the order given) in about 1 MiB chunks: small headers are
 * gathered so the store's writer and hasher see few large writes; big file bodies pass
 * through uncopied.
 */
export function* tarChunks(entries: Iterable<TarEntry>, opts: { mtime?: number } = {}): Generator<Buffer> {
  const batch = new Batcher();
  for (const e of entries) yield* batch.entry(e, opts.mtime ?? FIXED_MTIME);
  yield* batch.add(TAR_END);
  yield* batch.flush();
}

/** Gathers small buffers into ~1 MiB chunks; shared by the in-memory and the tree writer. */
export class Batcher {
  private pending: Buffer[] = [];
  private bytes = 0;

  *flush(): Generator<Buffer> {
    if (this.bytes) yield this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.bytes);
    this.pending = [];
    this.bytes = 0;
  }

  *add(b: Buffer): Generator<Buffer> {
    if (b.length >= 64 * 1024) {
      yield* this.flush();
      yield b;
      return;
    }
    this.pending.push(b);
    this.bytes += b.length;
    if (this.bytes >= 1 << 20) yield* this.flush();
  }

  *entry(e: TarEntry, mtime: number): Generator<Buffer> {
    const size = e.type === 'file' ? (e.data?.length ?? 0) : 0;
    yield* this.add(tarHeader({ path: e.path, type: e.type, mode: e.mode, size, ...(e.link !== undefined ? { link: e.link } : {}), mtime }));
    if (size) {
      yield* this.add(e.data!);
      const pad = padding(size);
      if (pad.length) yield* this.add(pad);
    }
  }
}
