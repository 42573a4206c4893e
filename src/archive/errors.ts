import { WeldError } from '../core/errors.js';

// The archive module's failures: each a value with a stable code. The callers (env's
// .deb reader, the tarball importer) wrap them in their own words for their users.

/** The compressed data is truncated or damaged; `reason` is the decompressor's own words. */
export class DecompressError extends WeldError {
  readonly code = 'E_DECOMPRESS';
  constructor(readonly compression: string, readonly reason: string) {
    super(`the ${compression} data does not decompress: ${reason}`);
    this.hint = 'the file is truncated or damaged: fetch it again';
  }
}

/** The input stream itself failed (network, disk): not the data's fault. */
export class ArchiveInputError extends WeldError {
  readonly code = 'E_ARCHIVE_INPUT';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** A decompressor binary the data needs is not installed. */
export class ToolMissingError extends WeldError {
  readonly code = 'E_TOOL_MISSING';
  constructor(readonly tool: string, pkg: string, why: string) {
    super(`${tool} is not installed; it is needed ${why}`);
    this.hint = `install it: apt-get install ${pkg}`;
  }
}

/** A tree holds something a tar of build outputs cannot carry (a device, a fifo, a socket), or cannot be read. */
export class TarSourceError extends WeldError {
  readonly code = 'E_TAR_SOURCE';
  constructor(readonly file: string, reason: string) {
    super(`cannot pack ${file}: ${reason}`);
    this.hint = 'a packed tree holds regular files, directories and symlinks, all readable';
  }
}
