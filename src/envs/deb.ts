import { err, ok, type Result } from '../core/result.js';
import { readAr } from '../archive/ar.js';
import { decompressBuffer, type Compression } from '../archive/decompress.js';
import { ToolMissingError } from '../archive/errors.js';
import { readTar } from '../archive/tar-read.js';
import type { TarType } from '../archive/tar-write.js';
import { DebFormatError, DebUnsafePathError } from './errors.js';

/** One entry of a .deb's data, with its path made relative to the root ("usr/bin/env"). */
export interface DebEntry {
  path: string;
  type: TarType;
  mode: number;
  /** symlink target as written; hardlink target as a root-relative path */
  link?: string;
  data?: Buffer;
}

export type DebError = DebFormatError | DebUnsafePathError | ToolMissingError;

const MEMBER: Record<string, Compression> = { '': 'none', '.xz': 'xz', '.zst': 'zstd', '.gz': 'gzip' };

function compressionOf(member: string): Compression | undefined {
  const m = /^data\.tar(\.xz|\.zst|\.gz)?$/.exec(member);
  return m ? MEMBER[m[1] ?? ''] : undefined;
}

const TYPES: Record<string, TarType> = { '0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '5': 'dir' };

/**
 * Root-relative form of a path inside a .deb, or why it is unsafe: absolute paths and
 * ".." would write outside the root filesystem when the layer is unpacked.
 */
export function safeRelative(p: string): { path: string } | { unsafe: string } {
  if (p.includes('\0')) return { unsafe: 'it contains a NUL byte' };
  if (p.startsWith('/')) return { unsafe: 'it is absolute' };
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) return { unsafe: 'it contains ".."' };
  return { path: parts.join('/') };
}

/** Reads a .deb from memory: its data member, decompressed and parsed, entries checked. */
export async function readDeb(opts: { name: string; bytes: Buffer; /** a path the decompressor may use for one file */ scratch: string }): Promise<Result<DebEntry[], DebError>> {
  const { name } = opts;
  const ar = readAr(opts.bytes);
  if ('error' in ar) return err(new DebFormatError(name, ar.error));
  if (ar.members[0]?.name !== 'debian-binary' || !ar.members[0].data.toString('latin1').startsWith('2.')) {
    return err(new DebFormatError(name, 'the first member is not "debian-binary" with format 2.x'));
  }
  const member = ar.members.find((m) => m.name.startsWith('data.tar'));
  if (!member) return err(new DebFormatError(name, `no data.tar.* member (members: ${ar.members.map((m) => m.name).join(', ')})`));
  const compression = compressionOf(member.name);
  if (!compression) return err(new DebFormatError(name, `unsupported data member "${member.name}" (weld reads data.tar, .xz, .zst, .gz)`));
  const tarBytes = await decompressBuffer({ data: member.data, compression, scratch: opts.scratch, for: `${name}'s ${member.name}` });
  if (!tarBytes.ok) {
    const e = tarBytes.error;
    return err(e instanceof ToolMissingError ? e : new DebFormatError(name, `${member.name} does not decompress: ${e.reason}`));
  }
  const tar = readTar(tarBytes.value);
  if ('error' in tar) return err(new DebFormatError(name, `${member.name}: ${tar.error}`));
  const out: DebEntry[] = [];
  for (const raw of tar.entries) {
    const rel = safeRelative(raw.path);
    if ('unsafe' in rel) return err(new DebUnsafePathError(name, raw.path, rel.unsafe));
    const type = TYPES[raw.typeflag];
    if (!type) return err(new DebUnsafePathError(name, raw.path, `entry type "${raw.typeflag}" (device or fifo) does not belong in a package`));
    if (rel.path === '') continue; // "./", the root itself
    const e: DebEntry = { path: rel.path, type, mode: raw.mode & 0o7777 };
    if (type === 'file') e.data = raw.data;
    if (type === 'symlink') {
      if (raw.link === '' || raw.link.includes('\0')) return err(new DebUnsafePathError(name, raw.path, 'symlink with an empty or NUL target'));
      e.link = raw.link;
    }
    if (type === 'hardlink') {
      const target = safeRelative(raw.link);
      if ('unsafe' in target) return err(new DebUnsafePathError(name, raw.path, `hardlink target "${raw.link}": ${target.unsafe}`));
      e.link = target.path;
    }
    out.push(e);
  }
  return ok(out);
}
