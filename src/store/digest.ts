import { createHash, type Hash } from 'node:crypto';
import { err, ok, type Result } from '../core/result.js';
import { BadDigestError } from './errors.js';

import { isDigest, type Digest } from '../core/digest.js';

// The digest type lives in src/core (plan uses it too); the store adds parsing and hashing streams.
export { isDigest, type Digest };

const FULL = /^sha256:[0-9a-f]{64}$/;
const BARE = /^[0-9a-f]{64}$/;

// 1 MiB reads hash measurably faster than node's 64 KiB default (ENVIRONMENT.md).
export const CHUNK = 1 << 20;

/**
 * Checks a digest given by a user or a caller. `bare` admits 64 hex without the
 * prefix (the CLI does); upper-case hex is accepted and lowered, because people paste it.
 */
export function parseDigest(input: string, opts: { where: string; bare?: boolean }): Result<Digest, BadDigestError> {
  const s = input.trim().toLowerCase();
  if (FULL.test(s)) return ok(s as Digest);
  if (opts.bare && BARE.test(s)) return ok(`sha256:${s}` as Digest);
  return err(new BadDigestError(input, opts.where));
}

export function hexOf(d: Digest): string {
  return d.slice('sha256:'.length);
}

export function newHasher(): Hash {
  return createHash('sha256');
}

export function digestOf(h: Hash): Digest {
  return `sha256:${h.digest('hex')}`;
}

export function digestBytes(data: Uint8Array | string): Digest {
  return digestOf(newHasher().update(data));
}
