import { createHash, getHashes } from 'node:crypto';
import { err, ok, type Result } from '../../core/result.js';
import { WheelInvalidError } from '../errors.js';
import { isDistInfoOf, parseWheelName, type WheelName } from '../wheel/name.js';
import { WheelRecordMismatchError } from './errors.js';
import { readZip, type ZipMember } from './zip.js';

// A wheel opened the way an installer must open it (the binary distribution format
// spec, PEP 427/491): its name parsed, every entry name checked for escapes, WHEEL
// read, and every file checked against the hash and size RECORD lists for it.

export interface Wheel {
  file: string;
  name: WheelName;
  /** `<dist>-<version>.dist-info`, as spelled inside the wheel */
  distInfo: string;
  /** `<dist>-<version>.data` */
  dataDir: string;
  rootIsPurelib: boolean;
  /** the files, directories left out, RECORD's hashes verified */
  files: ZipMember[];
}

/** Why an entry name must not be installed, or undefined when it is a plain relative path. */
export function unsafeName(name: string): string | undefined {
  if (name === '') return 'an empty name';
  if (name.includes('\0')) return 'a NUL in the name';
  if (name.includes('\\')) return 'a backslash in the name (a Windows path?)';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'an absolute path';
  const parts = (name.endsWith('/') ? name.slice(0, -1) : name).split('/');
  if (parts.includes('..')) return 'a ".." component: it would escape the install directory';
  if (parts.some((p) => p === '' || p === '.')) return 'an empty or "." component';
  return undefined;
}

export async function openWheel(opts: { file: string; bytes: Buffer }): Promise<Result<Wheel, WheelInvalidError | WheelRecordMismatchError>> {
  const label = opts.file;
  const fail = (entry: string | undefined, why: string) => err(WheelInvalidError.inWheel(label, entry, why));
  const name = parseWheelName(opts.file);
  if (!name) return fail(undefined, 'the file name is not <dist>-<version>[-<build>]-<python>-<abi>-<platform>.whl');
  const zip = await readZip({ bytes: opts.bytes, label });
  if (!zip.ok) return zip;
  const seen = new Set<string>();
  for (const m of zip.value) {
    const why = unsafeName(m.name);
    if (why) return fail(m.name, `${why}; refused`);
    if (m.symlink) return fail(m.name, 'a symbolic link; wheels carry files only, and a link could point outside the install directory');
    if (!m.dir && seen.has(m.name)) return fail(m.name, 'listed twice in the zip');
    seen.add(m.name);
  }
  const files = zip.value.filter((m) => !m.dir);
  const tops = [...new Set(files.map((m) => m.name.split('/')[0]!))];
  const distInfos = tops.filter((t) => t.endsWith('.dist-info') && files.some((m) => m.name.startsWith(`${t}/`)));
  const distInfo = distInfos.find((d) => isDistInfoOf(d, name));
  if (!distInfo) return fail(undefined, `no ${name.distribution}-${name.version}.dist-info directory${distInfos.length ? ` (it has ${distInfos.join(', ')})` : ''}`);
  const other = distInfos.find((d) => d !== distInfo);
  if (other) return fail(other, `a second .dist-info directory besides ${distInfo}`);
  const dataDir = `${distInfo.slice(0, -'.dist-info'.length)}.data`;
  const strayData = tops.find((t) => t.endsWith('.data') && t !== dataDir);
  if (strayData) return fail(strayData, `a .data directory that is not the wheel's own (${dataDir})`);
  const byName = new Map(files.map((m) => [m.name, m]));
  const wheelFile = byName.get(`${distInfo}/WHEEL`);
  if (!wheelFile) return fail(`${distInfo}/WHEEL`, 'missing');
  const meta = parseWheelMetadata(wheelFile.data.toString('utf8'));
  const version = meta.get('wheel-version');
  if (!version || !/^1\.\d+$/.test(version)) return fail(`${distInfo}/WHEEL`, `Wheel-Version is ${version ?? 'missing'}; this installer knows 1.x`);
  const purelib = meta.get('root-is-purelib');
  if (purelib !== 'true' && purelib !== 'false') return fail(`${distInfo}/WHEEL`, `Root-Is-Purelib is ${purelib ?? 'missing'}, not true or false`);
  const checked = verifyRecord({ label, distInfo, files: byName });
  if (!checked.ok) return checked;
  return ok({ file: opts.file, name, distInfo, dataDir, rootIsPurelib: purelib === 'true', files });
}

/** WHEEL is RFC 822 style: `Key: value` lines; keys compared case-insensitively. */
function parseWheelMetadata(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Za-z0-9-]+):\s*(.*?)\s*$/.exec(line);
    if (m && !out.has(m[1]!.toLowerCase())) out.set(m[1]!.toLowerCase(), m[2]!);
  }
  return out;
}

/** The rows of a CSV file as Python's csv module writes them (RECORD's format). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endField = () => {
    row.push(field);
    field = '';
  };
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), (i += 2);
      else if (c === '"') (quoted = false), i++;
      else (field += c), i++;
    } else if (c === '"' && field === '') (quoted = true), i++;
    else if (c === ',') endField(), i++;
    else if (c === '\n' || c === '\r') {
      endField();
      if (row.some((f) => f !== '') || row.length > 1) rows.push(row);
      row = [];
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else (field += c), i++;
  }
  if (field !== '' || row.length) {
    endField();
    rows.push(row);
  }
  return rows;
}

// The spec: hashes weaker than sha256 must not be trusted.
const WEAK = new Set(['md5', 'sha1', 'sha224']);

function verifyRecord(opts: { label: string; distInfo: string; files: Map<string, ZipMember> }): Result<void, WheelInvalidError | WheelRecordMismatchError> {
  const { label, distInfo } = opts;
  const recordName = `${distInfo}/RECORD`;
  const record = opts.files.get(recordName);
  if (!record) return err(WheelInvalidError.inWheel(label, recordName, 'missing; without it the files cannot be checked'));
  const listed = new Map<string, { hash: string; size: string }>();
  for (const [path, hash, size] of parseCsv(record.data.toString('utf8'))) {
    if (path === undefined || path === '') continue;
    listed.set(path, { hash: hash ?? '', size: size ?? '' });
  }
  const unhashed = new Set([recordName, `${recordName}.jws`, `${recordName}.p7s`]);
  for (const [name, m] of opts.files) {
    if (unhashed.has(name)) continue;
    const row = listed.get(name);
    if (!row || row.hash === '') return err(WheelInvalidError.inWheel(label, name, `not listed with a hash in ${recordName}`));
    const eq = row.hash.indexOf('=');
    const algo = row.hash.slice(0, eq).toLowerCase();
    if (eq <= 0 || WEAK.has(algo) || !getHashes().includes(algo)) return err(WheelInvalidError.inWheel(label, name, `${recordName} gives it the hash "${row.hash}"; sha256 or stronger is required`));
    const actual = createHash(algo).update(m.data).digest('base64url');
    if (actual !== row.hash.slice(eq + 1)) return err(new WheelRecordMismatchError(label, name, row.hash, `${algo}=${actual}`));
    if (row.size !== '' && Number(row.size) !== m.data.length) return err(new WheelRecordMismatchError(label, name, `${row.size} bytes`, `${m.data.length} bytes`));
  }
  for (const path of listed.keys()) {
    if (!opts.files.has(path) && !unhashed.has(path)) return err(WheelInvalidError.inWheel(label, path, `listed in ${recordName} but not in the wheel`));
  }
  return ok(undefined);
}
