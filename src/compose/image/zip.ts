import yauzl from 'yauzl';
import { err, ok, type Result } from '../../core/result.js';
import { WheelInvalidError } from './errors.js';

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
 * Every member of a zip, in central-directory order. Names are taken raw
 * (decodeStrings off), so the installer, not yauzl, decides which ones are unsafe
 * and can say which wheel and which entry.
 */
export function readZip(opts: { bytes: Buffer; label: string }): Promise<Result<ZipMember[], WheelInvalidError>> {
  const fail = (entry: string | undefined, why: string) => err(new WheelInvalidError(opts.label, entry, why));
  return new Promise((resolve) => {
    yauzl.fromBuffer(opts.bytes, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true }, (e, zip) => {
      if (e || !zip) return resolve(fail(undefined, `not a readable zip: ${e?.message ?? 'no zip'}`));
      const out: ZipMember[] = [];
      let done = false;
      const finish = (r: Result<ZipMember[], WheelInvalidError>) => {
        if (done) return;
        done = true;
        zip.close();
        resolve(r);
      };
      zip.on('error', (ze: Error) => finish(fail(undefined, `not a readable zip: ${ze.message}`)));
      zip.on('end', () => finish(ok(out)));
      zip.on('entry', (entry: yauzl.Entry) => {
        const name = (entry.fileName as unknown as Buffer).toString('utf8');
        if (entry.isEncrypted()) return finish(fail(name, 'encrypted entries cannot be installed'));
        // The high 16 bits carry st_mode when the zip was made on Unix (version made by 3).
        const unix = entry.versionMadeBy >> 8 === 3 ? entry.externalFileAttributes >>> 16 : 0;
        const symlink = (unix & S_IFMT) === S_IFLNK;
        const dir = name.endsWith('/') || (unix & S_IFMT) === S_IFDIR;
        if (dir) {
          out.push({ name, data: Buffer.alloc(0), mode: unix & 0o7777, dir, symlink });
          return zip.readEntry();
        }
        zip.openReadStream(entry, (se, stream) => {
          if (se || !stream) return finish(fail(name, `cannot be read: ${se?.message ?? 'no stream'}`));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', (re: Error) => finish(fail(name, `cannot be read: ${re.message}`)));
          stream.on('end', () => {
            out.push({ name, data: Buffer.concat(chunks), mode: unix & 0o7777, dir, symlink });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}
