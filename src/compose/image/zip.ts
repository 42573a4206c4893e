import { err, ok, type Result } from '../../core/result.js';
import { WheelInvalidError } from '../errors.js';
import { entryName, openZip } from '../wheel/zip.js';

/** One member of a zip, read whole (wheels are small; the biggest in the sample is under 1 MB). */
export interface ZipMember {
  /** as stored, decoded as UTF-8; not yet checked */
  name: string;
  data: Buffer;
  /** the Unix mode from the external attributes, 0 when the zip was made elsewhere */
  mode: number;
  dir: boolean;
  symlink: boolean;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;

/**
 * Every member of a zip, in central-directory order. Names are taken raw, so the
 * installer, not yauzl, decides which ones are unsafe and can say which wheel and which
 * entry.
 */
export async function readZip(opts: { bytes: Buffer; label: string }): Promise<Result<ZipMember[], WheelInvalidError>> {
  const fail = (entry: string | undefined, why: string) => err(WheelInvalidError.inWheel(opts.label, entry, why));
  const zip = await openZip({ bytes: opts.bytes }, { rawNames: true });
  if (!zip.ok) return fail(undefined, `not a readable zip: ${zip.error.message}`);
  const out: ZipMember[] = [];
  try {
    for (;;) {
      const next = await zip.value.next();
      if (!next.ok) return fail(undefined, `not a readable zip: ${next.error.message}`);
      const entry = next.value;
      if (!entry) return ok(out);
      const name = entryName(entry);
      if (entry.isEncrypted()) return fail(name, 'encrypted entries cannot be installed');
      // The high 16 bits carry st_mode when the zip was made on Unix (version made by 3).
      const unix = entry.versionMadeBy >> 8 === 3 ? entry.externalFileAttributes >>> 16 : 0;
      const symlink = (unix & S_IFMT) === S_IFLNK;
      const dir = name.endsWith('/') || (unix & S_IFMT) === S_IFDIR;
      if (dir) {
        out.push({ name, data: Buffer.alloc(0), mode: unix & 0o7777, dir, symlink });
        continue;
      }
      const data = await zip.value.read(entry);
      if (!data.ok) return fail(name, `cannot be read: ${data.error.message}`);
      out.push({ name, data: data.value, mode: unix & 0o7777, dir, symlink });
    }
  } finally {
    zip.value.close();
  }
}
