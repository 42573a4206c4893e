import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { err, ok, type Result } from '../core/result.js';
import { BadRequestError, ServiceConfigError } from './errors.js';

// API tokens: `weld server token add` prints a secret once and keeps only its sha256, in
// <state>/tokens.json (mode 0600). A file rather than the job store because LevelDB admits
// one process: the token verbs run beside a running server, which re-reads the file when
// it changes, so a revoke takes effect on the next request.

export const ROLES = ['submit', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface TokenEntry {
  name: string;
  role: Role;
  /** sha256 of the secret, hex */
  hash: string;
  createdAt: number;
  revokedAt?: number;
}

export type Caller = { name: string; role: Role };

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function tokensFile(stateDir: string): string {
  return path.join(stateDir, 'tokens.json');
}

const hashOf = (secret: string) => createHash('sha256').update(secret).digest('hex');

export function readTokens(stateDir: string): Result<TokenEntry[], ServiceConfigError> {
  let text: string;
  try {
    text = readFileSync(tokensFile(stateDir), 'utf8');
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return ok([]);
    return err(new ServiceConfigError(`cannot read ${tokensFile(stateDir)}: ${(e as Error).message}`));
  }
  try {
    const doc = JSON.parse(text) as { tokens?: TokenEntry[] };
    if (!Array.isArray(doc.tokens)) throw new Error('no "tokens" list');
    return ok(doc.tokens);
  } catch (e: unknown) {
    return err(new ServiceConfigError(`${tokensFile(stateDir)} is not a tokens file: ${(e as Error).message}`, 'restore it from a backup, or remove it and add the tokens again'));
  }
}

function writeTokens(stateDir: string, tokens: TokenEntry[]): void {
  mkdirSync(stateDir, { recursive: true });
  const file = tokensFile(stateDir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ tokens }, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

/** Adds a token; the secret is returned here and never again. */
export function addToken(o: { stateDir: string; name: string; role: string }): Result<{ entry: TokenEntry; secret: string }, BadRequestError | ServiceConfigError> {
  if (!NAME.test(o.name)) return err(new BadRequestError(`token name "${o.name}" must be 1–64 of a-z 0-9 . _ - (starting with a letter or digit)`, 'name'));
  if (!(ROLES as readonly string[]).includes(o.role)) return err(new BadRequestError(`role "${o.role}" is not one of ${ROLES.join(', ')}`, 'role'));
  const tokens = readTokens(o.stateDir);
  if (!tokens.ok) return tokens;
  if (tokens.value.some((t) => t.name === o.name)) return err(new BadRequestError(`a token named "${o.name}" exists already`, 'name', 'pick another name, or revoke that one first (names stay taken: the jobs it submitted name it)'));
  const secret = `weld_${randomBytes(32).toString('base64url')}`;
  const entry: TokenEntry = { name: o.name, role: o.role as Role, hash: hashOf(secret), createdAt: Date.now() };
  writeTokens(o.stateDir, [...tokens.value, entry]);
  return ok({ entry, secret });
}

export function revokeToken(o: { stateDir: string; name: string }): Result<TokenEntry, BadRequestError | ServiceConfigError> {
  const tokens = readTokens(o.stateDir);
  if (!tokens.ok) return tokens;
  const t = tokens.value.find((x) => x.name === o.name);
  if (!t) return err(new BadRequestError(`no token named "${o.name}"`, 'name', 'list them with `weld server token ls`'));
  if (t.revokedAt === undefined) {
    t.revokedAt = Date.now();
    writeTokens(o.stateDir, tokens.value);
  }
  return ok(t);
}

export type Authentication = { ok: true; caller: Caller } | { ok: false; why: 'missing' | 'malformed' | 'unknown' | 'revoked' };

/** The server's view of the tokens file, re-read whenever the file changes. */
export class TokenBook {
  /** mtime, inode and size of the file last read: a rename by `token add` changes the inode */
  private stamp = '';
  private byHash = new Map<string, TokenEntry>();

  constructor(private readonly stateDir: string) {}

  /** Whether any token was ever added: then every mutating call must carry one. */
  enforced(): boolean {
    this.refresh();
    return this.byHash.size > 0;
  }

  authenticate(header: string | undefined): Authentication {
    this.refresh();
    if (header === undefined || header === '') return { ok: false, why: 'missing' };
    const m = /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(header);
    if (!m) return { ok: false, why: 'malformed' };
    const t = this.byHash.get(hashOf(m[1]!));
    if (!t) return { ok: false, why: 'unknown' };
    if (t.revokedAt !== undefined) return { ok: false, why: 'revoked' };
    return { ok: true, caller: { name: t.name, role: t.role } };
  }

  private refresh(): void {
    let stamp: string;
    try {
      const st = statSync(tokensFile(this.stateDir));
      stamp = `${st.mtimeMs}:${st.ino}:${st.size}`;
    } catch {
      stamp = 'none';
    }
    if (stamp === this.stamp) return;
    const tokens = readTokens(this.stateDir);
    // An unreadable file keeps the last good view rather than opening the server.
    if (!tokens.ok) return;
    this.stamp = stamp;
    this.byHash = new Map(tokens.value.map((t) => [t.hash, t]));
  }
}
