import type { ReadEntry } from 'tar';
import {
  TarballCorruptError,
  TarballDeviceError,
  TarballFormatError,
  TarballLayoutError,
  TarballLimitError,
  TarballLinkEscapeError,
  TarballLinkMissingError,
  TarballNameError,
  TarballSetuidError,
  TarballUnsafePathError,
  type TarballError,
} from './errors.js';
import { hashObject, type ObjectType } from './objects.js';
import { MAX_PATH_BYTES, isDotGit, isDotGitmodules, splitPath } from './paths.js';
import { MemTree } from './tree.js';

// Turns the tar parser's entries into a MemTree plus queued blobs, refusing anything
// unsafe. The parser calls in synchronously; the first refusal is kept in `failure`
// and every later entry is only drained.

export interface TarballLimits {
  /** the sum of all file sizes in the archive, as `tar x` would write them */
  maxUnpackedBytes: number;
  /** tar entries of any kind */
  maxEntries: number;
}

/** A file at least this big is streamed into the pack instead of being held whole. */
export const STREAM_FROM = 8 * 1024 * 1024;

/** Streams a big file's bytes into the pack; resolves to its id, or to why it could not. */
export type StreamBlob = (opts: { entry: string; size: number; data: AsyncIterable<Buffer>; drain: () => void }) => Promise<Buffer | TarballError>;

const DEVICES: Record<string, string> = {
  CharacterDevice: 'character device',
  BlockDevice: 'block device',
  FIFO: 'FIFO (named pipe)',
};

export class EntryReader {
  readonly tree = new MemTree();
  readonly skipped: Array<{ path: string; reason: string }> = [];
  failure: TarballError | undefined;
  topDir: string | undefined;
  /** entries that are not tar metadata: files, directories, links, … */
  entries = 0;
  mtime = 0;
  files = 0;
  bytes = 0;
  readonly #skippedPrefixes = new Set<string>();
  #unpacked = 0;
  readonly #streaming: Array<Promise<void>> = [];
  readonly #abort = new AbortController();

  constructor(
    private readonly opts: {
      source: string;
      limits: TarballLimits;
      /** files of at least this many bytes go through `streamBlob` */
      streamFrom: number;
      addObject: (type: ObjectType, oid: Buffer, content: Buffer) => void;
      streamBlob: StreamBlob;
      onProgress?: (p: { bytes: number; files: number }) => void;
    },
  ) {}

  fail(error: TarballError): void {
    this.failure ??= error;
  }

  /** Waits until every streamed file is written (or has failed, into `failure`). */
  async settled(): Promise<void> {
    await Promise.all(this.#streaming);
  }

  /** Stops files still streaming: the parser will feed them no more. */
  abort(): void {
    this.#abort.abort();
  }

  get aborted(): boolean {
    return this.#abort.signal.aborted;
  }

  onEntry(entry: ReadEntry): void {
    this.entries++;
    if (!this.failure) this.#checkLimits(entry);
    if (this.failure) {
      entry.resume();
      return;
    }
    const error = this.#accept(entry);
    if (error) {
      this.fail(error);
      entry.resume();
    }
  }

  // Judged from headers, before any content is read: a bomb is refused at its first
  // entry past the limit, not after filling the disk.
  #checkLimits(entry: ReadEntry): void {
    const { source, limits } = this.opts;
    if (this.entries > limits.maxEntries) return this.fail(new TarballLimitError(source, entry.path, 'max_entries', limits.maxEntries));
    if (entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile') {
      this.#unpacked += entry.size ?? 0;
      if (this.#unpacked > limits.maxUnpackedBytes) this.fail(new TarballLimitError(source, entry.path, 'max_unpacked_size', limits.maxUnpackedBytes));
    }
  }

  /** An entry the parser skips by itself: an unknown type, or metadata too big to hold. */
  onIgnored(entry: ReadEntry): void {
    this.entries++;
    const { source } = this.opts;
    if (this.entries > this.opts.limits.maxEntries) {
      this.fail(new TarballLimitError(source, entry.path, 'max_entries', this.opts.limits.maxEntries));
    } else if (entry.meta) {
      this.fail(new TarballFormatError(source, entry.path, `has a ${entry.type} header of ${entry.size} bytes, more than the 1 MiB weld reads`));
    } else if (entry.type === 'SparseFile') {
      this.fail(new TarballFormatError(source, entry.path, 'is a GNU sparse file, which weld does not import'));
    } else {
      this.fail(new TarballFormatError(source, entry.path, `has tar entry type "${entry.type}", which weld does not import`));
    }
  }

  #accept(entry: ReadEntry): TarballError | undefined {
    const { source } = this.opts;
    const raw = entry.path;
    const p = splitPath(raw);
    if (!p.ok) return p.kind === 'name' ? new TarballNameError(source, raw, p.why) : new TarballUnsafePathError(source, raw, p.why);
    const device = DEVICES[entry.type];
    if (device) return new TarballDeviceError(source, raw, device);
    const mode = entry.mode ?? 0o644;
    if (mode & 0o7000) return new TarballSetuidError(source, raw, mode);
    if (entry.mtime) this.mtime = Math.max(this.mtime, Math.floor(entry.mtime.getTime() / 1000));

    const [top, ...rest] = p.components;
    if (top === undefined) {
      // `./` itself
      if (entry.type === 'Directory') return void entry.resume();
      return new TarballUnsafePathError(source, raw, 'has an empty name');
    }
    if (this.topDir === undefined) this.topDir = top;
    else if (top !== this.topDir) return new TarballLayoutError(source, raw, `lies beside the top directory "${this.topDir}/"`);
    if (rest.length === 0) {
      if (entry.type === 'Directory') return void entry.resume();
      return new TarballLayoutError(source, raw, `is a ${kindOf(entry.type)} at the top of the archive, where a single directory belongs`);
    }
    const dotGit = rest.findIndex(isDotGit);
    if (dotGit >= 0) return void this.#skip(entry, rest.slice(0, dotGit + 1).join('/'), 'git keeps its own data in .git; it cannot be stored in a tree');

    switch (entry.type) {
      case 'Directory':
        this.tree.addDir(rest);
        entry.resume();
        return undefined;
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        this.#readFile(entry, rest);
        return undefined;
      case 'SymbolicLink':
        return this.#symlink(entry, rest);
      case 'Link':
        return this.#hardlink(entry, rest);
      default:
        return new TarballFormatError(source, raw, `has tar entry type "${entry.type}", which weld does not import`);
    }
  }

  // A small file's bytes are gathered before hashing: its id decides whether it is
  // written at all (the pack must not hold an object twice), and deflating it whole on
  // the threadpool is fastest. A big one is streamed, so memory stays flat.
  #readFile(entry: ReadEntry, rest: string[]): void {
    // git keeps one bit: executable by the owner or not
    const mode = (entry.mode ?? 0o644) & 0o100 ? '100755' : '100644';
    if (entry.size >= this.opts.streamFrom) return this.#streamFile(entry, rest, mode);
    const chunks: Buffer[] = [];
    let got = 0;
    entry.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
    });
    entry.on('end', () => {
      if (this.failure) return;
      if (got !== entry.size) {
        this.fail(new TarballCorruptError(this.opts.source, entry.path, `the tar data ends inside this entry (${got} of ${entry.size} bytes)`));
        return;
      }
      const content = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, got);
      const oid = hashObject('blob', content);
      this.tree.setLeaf(rest, { kind: 'leaf', mode, oid, size: got });
      this.opts.addObject('blob', oid, content);
      this.#progress(got);
    });
  }

  // The leaf goes into the tree now, so later entries (a hard link to it, a file over
  // it) see it in archive order; its id is filled in once the stream ends.
  #streamFile(entry: ReadEntry, rest: string[], mode: '100644' | '100755'): void {
    const oid = Buffer.alloc(20);
    const size = entry.size;
    this.tree.setLeaf(rest, { kind: 'leaf', mode, oid, size });
    const written = this.opts
      .streamBlob({ entry: entry.path, size, data: abortable(entry, this.#abort.signal), drain: () => void entry.resume() })
      .then((r) => {
        if (!Buffer.isBuffer(r)) return this.fail(r);
        r.copy(oid);
        this.#progress(size);
      });
    this.#streaming.push(written);
  }

  #symlink(entry: ReadEntry, rest: string[]): TarballError | undefined {
    const { source } = this.opts;
    const target = entry.linkpath ?? '';
    if (target.includes('\uFFFD')) return new TarballNameError(source, entry.path, 'is a symlink whose target is not valid UTF-8 (shown with U+FFFD)');
    if (Buffer.byteLength(target) > MAX_PATH_BYTES) return new TarballNameError(source, entry.path, `is a symlink whose target is longer than ${MAX_PATH_BYTES} bytes`);
    // relative targets are checked once the whole tree is known (see MemTree.findEscapingLink)
    if (target.startsWith('/')) return new TarballLinkEscapeError(source, entry.path, `is a symlink to the absolute path "${target}", outside the tree`);
    if (isDotGitmodules(rest[rest.length - 1]!)) {
      return void this.#skip(entry, rest.join('/'), 'git refuses .gitmodules as a symbolic link');
    }
    const content = Buffer.from(target, 'utf8');
    const oid = hashObject('blob', content);
    this.tree.setLeaf(rest, { kind: 'leaf', mode: '120000', oid, size: content.length, target });
    this.opts.addObject('blob', oid, content);
    entry.resume();
    this.#progress(0);
    return undefined;
  }

  // A hard link's target is an archive member name; extracting makes the link the
  // same file, so it gets that file's blob and mode as they are at this point.
  #hardlink(entry: ReadEntry, rest: string[]): TarballError | undefined {
    const { source } = this.opts;
    const target = entry.linkpath ?? '';
    const t = splitPath(target);
    if (!t.ok) {
      if (t.kind === 'name') return new TarballNameError(source, entry.path, `is a hard link whose target ${t.why}`);
      return new TarballLinkEscapeError(source, entry.path, `is a hard link to "${target}", outside the tree`);
    }
    const [top, ...targetRest] = t.components;
    if (top !== this.topDir) return new TarballLinkEscapeError(source, entry.path, `is a hard link to "${target}", outside the top directory "${this.topDir}/"`);
    if (targetRest.some(isDotGit)) return void this.#skip(entry, rest.join('/'), 'a hard link into a .git directory, which is not imported');
    const node = this.tree.get(targetRest);
    if (node?.kind !== 'leaf') return new TarballLinkMissingError(source, entry.path, target);
    if (node.mode === '120000' && isDotGitmodules(rest[rest.length - 1]!)) {
      return void this.#skip(entry, rest.join('/'), 'git refuses .gitmodules as a symbolic link');
    }
    if (node.mode !== '120000') {
      // git stores a hard link as a second copy, and every checkout writes it again
      this.#unpacked += node.size;
      if (this.#unpacked > this.opts.limits.maxUnpackedBytes) return new TarballLimitError(source, entry.path, 'max_unpacked_size', this.opts.limits.maxUnpackedBytes);
    }
    this.tree.setLeaf(rest, { ...node });
    entry.resume();
    this.#progress(node.mode === '120000' ? 0 : node.size);
    return undefined;
  }

  #skip(entry: ReadEntry, path: string, reason: string): void {
    entry.resume();
    if (this.#skippedPrefixes.has(path)) return;
    this.#skippedPrefixes.add(path);
    this.skipped.push({ path, reason });
  }

  #progress(bytes: number): void {
    this.files++;
    this.bytes += bytes;
    this.opts.onProgress?.({ bytes: this.bytes, files: this.files });
  }
}

/**
 * `entry`'s chunks, one at a time: the entry is paused between them, which holds the
 * parser back. Stops when `signal` says the parser will send no more.
 */
async function* abortable(entry: ReadEntry, signal: AbortSignal): AsyncGenerator<Buffer> {
  // (Not Promise.race against one long-lived abort promise: every race leaves a
  // reaction on it that keeps its chunk alive, so memory grew with the entry.)
  const queue: Buffer[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const onData = (c: Buffer) => {
    queue.push(c);
    entry.pause();
    wake?.();
  };
  const onEnd = () => {
    ended = true;
    wake?.();
  };
  const onAbort = () => wake?.();
  entry.on('data', onData);
  entry.on('end', onEnd);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      if (signal.aborted) throw new Error('the import stopped');
      const c = queue.shift();
      if (c !== undefined) {
        yield c;
        continue;
      }
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
        entry.resume();
      });
      wake = undefined;
    }
  } finally {
    entry.off('data', onData);
    entry.off('end', onEnd);
    signal.removeEventListener('abort', onAbort);
  }
}

function kindOf(type: string): string {
  return type === 'SymbolicLink' ? 'symlink' : type === 'Link' ? 'hard link' : 'file';
}
