import { WeldError } from '../../core/errors.js';

// One class per way an upstream tarball can be refused. Every message names the
// tarball (`source`) and, where there is one, the offending entry as written in the
// archive; the hint says what the packager can do about it. Nothing is written to the
// repository when any of these is returned.

export abstract class TarballError extends WeldError {
  constructor(
    readonly source: string,
    readonly entry: string | undefined,
    message: string,
    hint: string,
  ) {
    super(message);
    this.hint = hint;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), source: this.source, ...(this.entry !== undefined ? { entry: this.entry } : {}) };
  }
}

const UNSAFE_HINT = 'refusing to import it; check that the tarball URL and sha256 in the package metadata name the real upstream release';

/** An absolute path or a `..` component: the entry would land outside the tree. */
export class TarballUnsafePathError extends TarballError {
  readonly code = 'E_TARBALL_UNSAFE_PATH';
  constructor(source: string, entry: string, why: string) {
    super(source, entry, `${source}: entry "${entry}" ${why}`, UNSAFE_HINT);
  }
}

/** A symlink or hardlink whose target lies outside the imported tree. */
export class TarballLinkEscapeError extends TarballError {
  readonly code = 'E_TARBALL_LINK_ESCAPE';
  constructor(source: string, entry: string, why: string) {
    super(source, entry, `${source}: entry "${entry}" ${why}`, UNSAFE_HINT);
  }
}

/** A hardlink to something that is not a file or symlink earlier in the archive. */
export class TarballLinkMissingError extends TarballError {
  readonly code = 'E_TARBALL_LINK_MISSING';
  constructor(source: string, entry: string, target: string) {
    super(
      source,
      entry,
      `${source}: entry "${entry}" is a hard link to "${target}", which is not a file earlier in the archive`,
      'the tarball is damaged or was written out of order; fetch the release again or use another upstream archive',
    );
  }
}

/** Character or block devices and FIFOs have no place in a source tree. */
export class TarballDeviceError extends TarballError {
  readonly code = 'E_TARBALL_DEVICE';
  constructor(source: string, entry: string, kind: string) {
    super(source, entry, `${source}: entry "${entry}" is a ${kind}; git can only store files, symlinks and directories`, UNSAFE_HINT);
  }
}

export class TarballSetuidError extends TarballError {
  readonly code = 'E_TARBALL_SETUID';
  constructor(source: string, entry: string, mode: number) {
    super(
      source,
      entry,
      `${source}: entry "${entry}" has mode ${mode.toString(8).padStart(4, '0')}, with setuid, setgid or sticky bits, which a source release never needs`,
      UNSAFE_HINT,
    );
  }
}

/** Truncated or damaged compressed data or tar structure. */
export class TarballCorruptError extends TarballError {
  readonly code = 'E_TARBALL_CORRUPT';
  constructor(source: string, entry: string | undefined, why: string) {
    super(
      source,
      entry,
      `${source}: ${entry !== undefined ? `at entry "${entry}": ` : ''}${why}`,
      'the download is truncated or damaged; fetch it again and check its sha256 against the upstream release',
    );
  }
}

/** No files at all: nothing for a commit to hold. */
export class TarballEmptyError extends TarballError {
  readonly code = 'E_TARBALL_EMPTY';
  constructor(source: string, why: string) {
    super(source, undefined, `${source}: ${why}`, 'check that the tarball URL names the release archive, not a placeholder or an error page');
  }
}

/** Not exactly one top directory holding everything. */
export class TarballLayoutError extends TarballError {
  readonly code = 'E_TARBALL_LAYOUT';
  constructor(source: string, entry: string, why: string) {
    super(
      source,
      entry,
      `${source}: entry "${entry}" ${why}`,
      'weld imports release tarballs that hold one top directory (like name-1.0/) and nothing beside it; repack the release that way or use a git upstream',
    );
  }
}

/** Not a tar archive in a compression weld reads, or an entry type weld cannot import. */
export class TarballFormatError extends TarballError {
  readonly code = 'E_TARBALL_FORMAT';
  constructor(source: string, entry: string | undefined, why: string) {
    super(
      source,
      entry,
      `${source}: ${entry !== undefined ? `entry "${entry}" ` : ''}${why}`,
      'weld reads tar archives, plain or compressed with gzip, xz or bzip2; use the upstream release in one of those forms',
    );
  }
}

/** A name git or weld cannot store faithfully: too long, or not UTF-8. */
export class TarballNameError extends TarballError {
  readonly code = 'E_TARBALL_NAME';
  constructor(source: string, entry: string, why: string) {
    super(
      source,
      entry,
      `${source}: entry "${entry}" ${why}`,
      'names must be valid UTF-8, at most 4096 bytes long, with no component over 255 bytes; repack the release with such names',
    );
  }
}

/** The input stream itself failed (network, file read): not the tarball's fault. */
export class TarballReadError extends TarballError {
  readonly code = 'E_TARBALL_READ';
  constructor(source: string, cause: string) {
    super(source, undefined, `${source}: reading failed: ${cause}`, 'try again; if it keeps failing, check the network or the downloaded file');
  }
}

/** Writing the pack into the repository failed (disk full, permissions). */
export class TarballWriteError extends TarballError {
  readonly code = 'E_TARBALL_WRITE';
  constructor(source: string, gitdir: string, cause: string) {
    super(source, undefined, `${source}: writing objects into ${gitdir} failed: ${cause}`, 'check free space and permissions of the mirror repository, then run the mirror again');
  }
}

export type TarballLimitName = 'max_unpacked_size' | 'max_entries';

/** The archive unpacks to more than weld.toml's `[mirror]` limits allow: a bomb, or a release that needs a higher limit. */
export class TarballLimitError extends TarballError {
  readonly code = 'E_TARBALL_LIMIT';
  constructor(
    source: string,
    entry: string,
    readonly limit: TarballLimitName,
    readonly value: number,
  ) {
    const what = limit === 'max_unpacked_size' ? `takes the unpacked size past ${formatBytes(value)} (${value} bytes)` : `is entry number ${value + 1}, past the limit of ${value} entries`;
    const example = limit === 'max_unpacked_size' ? `max_unpacked_size = "${formatBytes(value * 2)}"` : `max_entries = ${value * 2}`;
    super(
      source,
      entry,
      `${source}: entry "${entry}" ${what}, the ${limit} limit; nothing was imported`,
      `if this release really is that big, raise the limit in metadata/weld.toml: [mirror] ${example}`,
    );
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), limit: this.limit, value: this.value };
  }
}

/** Whole binary units where they fit (8 GiB), else bytes. */
function formatBytes(n: number): string {
  for (const [unit, size] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  return `${n}B`;
}
