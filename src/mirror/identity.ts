// Commits weld makes itself carry fixed names and dates taken from their inputs, so
// the same inputs give the same commit ids on every machine.

export interface Identity {
  name: string;
  email: string;
}

/** Author and committer of imported upstream releases (tarball and Debian upstreams). */
export const IMPORT_IDENTITY: Identity = { name: 'weld import', email: 'import@weld.invalid' };

/** Committer of distro patches (the author comes from each patch). */
export const DISTRO_IDENTITY: Identity = { name: 'weld distro', email: 'distro@weld.invalid' };

/** Trailer names recorded in import commits; a re-mirror reads them to skip work. */
export const TRAILER_SHA256 = 'Weld-Source-Sha256';
export const TRAILER_SOURCE = 'Weld-Source';
