import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { err, ok, type Result } from '../../core/result.js';
import { describe } from '../errors.js';
import { KeyError } from './errors.js';

// Keys are written as Nix writes its binary-cache keys: `NAME:BASE64`. The public one is a
// single line that goes into [store] trusted_keys as it is; the name is the DSSE key id.
// A secret key is the PKCS#8 DER of the ed25519 key, base64, in a file only its owner reads.

export interface SigningKey {
  name: string;
  key: KeyObject;
  /** the `NAME:BASE64` public key line */
  publicLine: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// The DER prefix of an ed25519 SubjectPublicKeyInfo: the raw 32 bytes follow it.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Where keys live unless told: $WELD_KEYS_DIR, else $XDG_CONFIG_HOME/weld/keys, else ~/.config/weld/keys. */
export function keysDir(env: NodeJS.ProcessEnv): string {
  if (env['WELD_KEYS_DIR']) return path.resolve(env['WELD_KEYS_DIR']);
  const config = env['XDG_CONFIG_HOME'] || path.join(env['HOME'] || os.homedir(), '.config');
  return path.join(config, 'weld', 'keys');
}

export function checkKeyName(name: string): string | undefined {
  return NAME.test(name) ? undefined : `key name ${JSON.stringify(name)} must be 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit`;
}

function publicLineOf(name: string, pub: KeyObject): string {
  const der = pub.export({ type: 'spki', format: 'der' });
  return `${name}:${der.subarray(SPKI_PREFIX.length).toString('base64')}`;
}

/** Makes NAME.key (mode 0600) and NAME.pub in `dir`; refuses to replace an existing key. */
export async function generateKey(opts: { dir: string; name: string }): Promise<Result<SigningKey & { secretFile: string; publicFile: string }, KeyError>> {
  const bad = checkKeyName(opts.name);
  if (bad) return err(new KeyError('weld key generate', bad));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const secretFile = path.join(opts.dir, `${opts.name}.key`);
  const publicFile = path.join(opts.dir, `${opts.name}.pub`);
  const publicLine = publicLineOf(opts.name, publicKey);
  try {
    await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    // 'wx': a second generate of one name must not destroy the key records were signed with.
    const fh = await open(secretFile, 'wx', 0o600);
    try {
      await fh.writeFile(`${opts.name}:${privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64')}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await chmod(secretFile, 0o600);
    const pf = await open(publicFile, 'w', 0o644);
    try {
      await pf.writeFile(publicLine + '\n');
    } finally {
      await pf.close();
    }
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return err(new KeyError(secretFile, 'a key of that name exists already; it was left as it is', 'pick another name (`weld key generate NAME`), or use the key you have'));
    return err(new KeyError(secretFile, `cannot write the key: ${describe(e)}`));
  }
  return ok({ name: opts.name, key: privateKey, publicLine, secretFile, publicFile });
}

/** Reads a NAME.key file written by generateKey. */
export async function loadSigningKey(file: string): Promise<Result<SigningKey, KeyError>> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (e: unknown) {
    return err(new KeyError(file, `cannot read the signing key: ${describe(e)}`));
  }
  const colon = text.indexOf(':');
  const name = colon > 0 ? text.slice(0, colon) : '';
  if (checkKeyName(name) !== undefined) return err(new KeyError(file, 'not a weld signing key (NAME:BASE64 on one line)'));
  try {
    const key = createPrivateKey({ key: Buffer.from(text.slice(colon + 1), 'base64'), format: 'der', type: 'pkcs8' });
    if (key.asymmetricKeyType !== 'ed25519') return err(new KeyError(file, `the key is ${key.asymmetricKeyType}, not ed25519`));
    return ok({ name, key, publicLine: publicLineOf(name, createPublicKey(key)) });
  } catch (e: unknown) {
    return err(new KeyError(file, `not a weld signing key: ${describe(e)}`));
  }
}

/**
 * The key a push signs with: `explicit` (--signing-key / WELD_SIGNING_KEY) when given, else
 * the one .key file in the keys directory. None there is not an error (records cannot be
 * pushed then, which the caller says); several is, since picking one would be a guess.
 */
export async function findSigningKey(opts: { explicit?: string; env: NodeJS.ProcessEnv }): Promise<Result<SigningKey | undefined, KeyError>> {
  if (opts.explicit) return loadSigningKey(opts.explicit);
  const dir = keysDir(opts.env);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.key')).sort();
  if (names.length === 0) return ok(undefined);
  if (names.length > 1) return err(new KeyError(dir, `${names.length} signing keys (${names.join(', ')}); weld does not guess which to sign with`, 'set WELD_SIGNING_KEY (or pass --signing-key) to the one to use'));
  return loadSigningKey(path.join(dir, names[0]!));
}

/** Parses one `NAME:BASE64` public key line (a trusted_keys entry). */
export function parsePublicKey(line: string): Result<{ name: string; key: KeyObject }, string> {
  const s = line.trim();
  const colon = s.indexOf(':');
  const name = colon > 0 ? s.slice(0, colon) : '';
  const nameProblem = checkKeyName(name);
  if (nameProblem) return err(`${JSON.stringify(s.slice(0, 80))} is not a public key NAME:BASE64 (${nameProblem})`);
  const raw = Buffer.from(s.slice(colon + 1), 'base64');
  if (raw.byteLength !== 32 || raw.toString('base64') !== s.slice(colon + 1)) return err(`the public key of "${name}" is not 32 bytes of base64 (an ed25519 key, as \`weld key public\` prints it)`);
  return ok({ name, key: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' }) });
}

/** trusted_keys → key id → public key; the first bad entry is the error. */
export function trustedKeys(lines: readonly string[]): Result<Map<string, KeyObject>, KeyError> {
  const out = new Map<string, KeyObject>();
  for (const [i, line] of lines.entries()) {
    const k = parsePublicKey(line);
    if (!k.ok) return err(new KeyError(`[store] trusted_keys[${i}]`, k.error));
    if (out.has(k.value.name)) return err(new KeyError(`[store] trusted_keys[${i}]`, `a second key named "${k.value.name}": key names are the ids signatures name, so they must be unique`));
    out.set(k.value.name, k.value.key);
  }
  return ok(out);
}
