import yauzl from 'yauzl';
import { err, ok, type Result } from '../../core/result.js';

// yauzl's events as a reader to await: one entry at a time in central-directory order,
// reading only the entries the caller asks for. The wheelhouse reads METADATA from a
// blob file and stops; the image installer reads every entry of a wheel in memory.

/** Why a zip cannot be read: the whole zip (no entry), or one entry. */
export interface ZipProblem {
  entry?: string;
  message: string;
}

export interface ZipReader {
  /** the next entry, or undefined after the last */
  next(): Promise<Result<yauzl.Entry | undefined, ZipProblem>>;
  read(entry: yauzl.Entry): Promise<Result<Buffer, ZipProblem>>;
  close(): void;
}

export interface ZipOptions {
  /**
   * Take entry names as raw bytes (read as UTF-8) rather than letting yauzl decode and
   * vet them, so the caller decides which names are unsafe and can say which entry.
   */
  rawNames?: boolean;
}

/** The entry's name as stored, decoded as UTF-8 when yauzl left it raw. */
export function entryName(entry: yauzl.Entry): string {
  const n = entry.fileName as string | Buffer;
  return typeof n === 'string' ? n : n.toString('utf8');
}

/** Opens a zip file or buffer; call `close()` when done. */
export function openZip(source: { file: string } | { bytes: Buffer }, opts: ZipOptions = {}): Promise<Result<ZipReader, ZipProblem>> {
  const options: yauzl.Options = { lazyEntries: true, autoClose: false, validateEntrySizes: true, ...(opts.rawNames ? { decodeStrings: false } : {}) };
  return new Promise((resolve) => {
    const opened = (e: Error | null, zip: yauzl.ZipFile | undefined) => resolve(e || !zip ? err({ message: e?.message ?? 'no zip' }) : ok(reader(zip)));
    if ('file' in source) yauzl.open(source.file, options, opened);
    else yauzl.fromBuffer(source.bytes, options, opened);
  });
}

function reader(zip: yauzl.ZipFile): ZipReader {
  let waiting: ((r: Result<yauzl.Entry | undefined, ZipProblem>) => void) | undefined;
  let failed: ZipProblem | undefined;
  let ended = false;
  const settle = (r: Result<yauzl.Entry | undefined, ZipProblem>) => {
    const w = waiting;
    waiting = undefined;
    w?.(r);
  };
  zip.on('entry', (entry: yauzl.Entry) => settle(ok(entry)));
  zip.on('end', () => {
    ended = true;
    settle(ok(undefined));
  });
  // An error between two next() calls is kept for the next one.
  zip.on('error', (e: Error) => {
    failed = { message: e.message };
    settle(err(failed));
  });
  return {
    next: () => {
      if (failed) return Promise.resolve(err(failed));
      if (ended) return Promise.resolve(ok(undefined));
      return new Promise((resolve) => {
        waiting = resolve;
        zip.readEntry();
      });
    },
    read: (entry) =>
      new Promise((resolve) => {
        const problem = (message: string) => resolve(err({ entry: entryName(entry), message }));
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return problem(e?.message ?? 'no stream');
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', (re: Error) => problem(re.message));
          stream.on('end', () => resolve(ok(Buffer.concat(chunks))));
        });
      }),
    close: () => zip.close(),
  };
}
