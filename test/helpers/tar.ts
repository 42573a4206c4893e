import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

// Tar archives written byte by byte, so a test can say exactly what a hostile or
// broken archive holds; plus small helpers around real git repositories.

export interface RawEntry {
  /** the name field; a Buffer for names that are not UTF-8 */
  name: string | Buffer;
  /** tar typeflag: '0' file, '1' hard link, '2' symlink, '3' char device, '5' dir, '6' FIFO, 'S' sparse… */
  type?: string;
  mode?: number;
  data?: Buffer | string;
  linkname?: string;
  mtime?: number;
  /** the size field when it should not match the data (truncation tests) */
  size?: number;
}

const BLOCK = 512;

function octal(buf: Buffer, off: number, len: number, value: number): void {
  buf.write(value.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

/** One ustar header block, with its checksum. */
export function header(e: RawEntry & { size: number }): Buffer {
  const h = Buffer.alloc(BLOCK);
  const name = typeof e.name === 'string' ? Buffer.from(e.name) : e.name;
  if (name.length > 100) throw new Error(`name too long for a plain header: use pax() (${name.length} bytes)`);
  name.copy(h, 0);
  octal(h, 100, 8, e.mode ?? 0o644);
  octal(h, 108, 8, 1000);
  octal(h, 116, 8, 1000);
  octal(h, 124, 12, e.size);
  octal(h, 136, 12, e.mtime ?? 1_700_000_000);
  h.write(e.type ?? '0', 156, 1, 'latin1');
  if (e.linkname) h.write(e.linkname, 157, 100);
  h.write('ustar\u000000', 257, 8, 'latin1');
  h.write('weld', 265);
  h.write('weld', 297);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return h;
}

function pad(data: Buffer): Buffer {
  const rest = data.length % BLOCK;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rest)]);
}

/** A header and its data, padded to whole blocks. */
export function entry(e: RawEntry): Buffer {
  const data = typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
  return Buffer.concat([header({ ...e, size: e.size ?? data.length }), pad(data)]);
}

/** A pax extended header ('x') giving the next entry's path (and link path). */
export function pax(fields: Record<string, string>): Buffer {
  let body = '';
  for (const [k, v] of Object.entries(fields)) {
    const rest = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(rest) + 1;
    while (String(len).length + Buffer.byteLength(rest) !== len) len = String(len).length + Buffer.byteLength(rest);
    body += `${len}${rest}`;
  }
  return entry({ name: 'PaxHeader', type: 'x', data: body });
}

/** The end-of-archive marker: two zero blocks. */
export const END = Buffer.alloc(2 * BLOCK);

export function tar(...parts: Buffer[]): Buffer {
  return Buffer.concat([...parts, END]);
}

/** A Readable giving `data` in chunks of `chunk` bytes, as a download would. */
export function streamOf(data: Buffer, chunk = 64 * 1024): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
  return Readable.from(parts, { objectMode: false });
}

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function bareRepo(dir: string): string {
  const gitdir = path.join(dir, 'repo.git');
  execFileSync('git', ['init', '-q', '--bare', gitdir]);
  return gitdir;
}

/** Every file under objects/ with its size: equal snapshots mean nothing was written. */
export function objectStore(gitdir: string): string[] {
  const root = path.join(gitdir, 'objects');
  return (readdirSync(root, { recursive: true }) as string[])
    .filter((p) => !statSync(path.join(root, p)).isDirectory())
    .map((p) => `${p} ${statSync(path.join(root, p)).size}`)
    .sort();
}

/** The tree native git writes for `dir` (extracted files), via a throw-away index. */
export function nativeTree(dir: string): string {
  const env = { ...process.env, GIT_DIR: path.join(dir, '..', `${path.basename(dir)}.native-git`), GIT_WORK_TREE: dir };
  mkdirSync(env.GIT_DIR, { recursive: true });
  execFileSync('git', ['init', '-q'], { env });
  execFileSync('git', ['add', '-A'], { env });
  return execFileSync('git', ['write-tree'], { env, encoding: 'utf8' }).trim();
}

/** Whether `cmd` runs here (for optional fixtures such as xz). */
export function have(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}
