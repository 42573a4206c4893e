import { createHash } from 'node:crypto';
import path from 'node:path/posix';
import { err, ok, type Result } from '../../core/result.js';
import { WheelInvalidError } from '../errors.js';
import { InstallConflictError } from './errors.js';
import type { InstallScheme } from './scheme.js';
import type { Wheel } from './wheel.js';

// Installing a wheel without running any of its code (the binary distribution format
// spec): the root into purelib or platlib, <name>.data/<scheme>/ into the scheme's
// directories, `#!python` scripts pointed at the interpreter, launchers for the entry
// points, INSTALLER, and a RECORD of what was installed where.

export interface InstalledFile {
  /** inside the image, no leading slash */
  path: string;
  data: Buffer;
  mode: number;
  /** which wheel (and what in it) put the file there, for conflict messages */
  from: string;
}

const SCHEMES = ['purelib', 'platlib', 'headers', 'scripts', 'data'] as const;
type SchemeKey = (typeof SCHEMES)[number];

export function installWheel(opts: { wheel: Wheel; scheme: InstallScheme }): Result<InstalledFile[], WheelInvalidError> {
  const { wheel, scheme } = opts;
  const fail = (entry: string, why: string) => err(WheelInvalidError.inWheel(wheel.file, entry, why));
  const root = wheel.rootIsPurelib ? scheme.purelib : scheme.platlib;
  const out: InstalledFile[] = [];
  const skip = new Set(['RECORD', 'RECORD.jws', 'RECORD.p7s', 'INSTALLER'].map((f) => `${wheel.distInfo}/${f}`));
  for (const m of wheel.files) {
    if (skip.has(m.name)) continue;
    const mode = m.mode & 0o111 ? 0o755 : 0o644;
    if (!m.name.startsWith(`${wheel.dataDir}/`)) {
      out.push({ path: `${root}/${m.name}`, data: m.data, mode, from: `${wheel.file} (${m.name})` });
      continue;
    }
    const [, key, ...rest] = m.name.split('/');
    if (!(SCHEMES as readonly string[]).includes(key!)) return fail(m.name, `"${key}" is not an install scheme (${SCHEMES.join(', ')}); the entry would land outside the wheel's directories`);
    if (rest.length === 0) return fail(m.name, 'a file directly in the .data directory, outside every scheme');
    const k = key as SchemeKey;
    const dir = k === 'headers' ? `${scheme.headers}/${wheel.name.distribution}` : scheme[k];
    const data = k === 'scripts' ? rewriteShebang(m.data, scheme.interpreter) : m.data;
    out.push({ path: `${dir}/${rest.join('/')}`, data, mode: k === 'scripts' ? 0o755 : mode, from: `${wheel.file} (${m.name})` });
  }
  const entryPoints = wheel.files.find((m) => m.name === `${wheel.distInfo}/entry_points.txt`);
  if (entryPoints) {
    const launchers = launchersOf({ text: entryPoints.data.toString('utf8'), scheme });
    if (!launchers.ok) return fail(`${wheel.distInfo}/entry_points.txt`, launchers.error);
    for (const l of launchers.value) out.push({ path: `${scheme.scripts}/${l.name}`, data: l.data, mode: 0o755, from: `${wheel.file} (entry point ${l.name})` });
  }
  const distInfo = `${root}/${wheel.distInfo}`;
  out.push({ path: `${distInfo}/INSTALLER`, data: Buffer.from('weld\n'), mode: 0o644, from: `${wheel.file} (INSTALLER)` });
  out.push({ path: `${distInfo}/RECORD`, data: recordOf({ files: out, root, record: `${distInfo}/RECORD` }), mode: 0o644, from: `${wheel.file} (RECORD)` });
  return ok(out);
}

/**
 * `#!python` (`#!pythonw`, `#!python3`…) at the very start means "the interpreter that
 * installs me": that word is replaced, arguments after it stay, a CR before the newline
 * goes (Linux would take it as part of the interpreter's name).
 */
export function rewriteShebang(data: Buffer, interpreter: string): Buffer {
  if (!data.subarray(0, 8).equals(Buffer.from('#!python'))) return data;
  const eol = data.indexOf(0x0a);
  const first = data.subarray(0, eol < 0 ? data.length : eol).toString('utf8');
  const args = first.replace(/^#!python\S*/, '').replace(/\r$/, '');
  return Buffer.concat([Buffer.from(`#!${interpreter}${args}`), eol < 0 ? Buffer.alloc(0) : data.subarray(eol)]);
}

/** RECORD as pip writes it: paths relative to the site directory, sha256 in urlsafe base64, sizes. */
function recordOf(opts: { files: InstalledFile[]; root: string; record: string }): Buffer {
  const rows = opts.files.map((f) => [path.relative(opts.root, f.path), `sha256=${createHash('sha256').update(f.data).digest('base64url')}`, String(f.data.length)]);
  rows.push([path.relative(opts.root, opts.record), '', '']);
  rows.sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
  return Buffer.from(rows.map((r) => r.map(csvField).join(',') + '\n').join(''));
}

const csvField = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** console_scripts and gui_scripts of entry_points.txt as launcher scripts. */
export function launchersOf(opts: { text: string; scheme: InstallScheme }): Result<Array<{ name: string; data: Buffer }>, string> {
  const out: Array<{ name: string; data: Buffer }> = [];
  let section = '';
  for (const raw of opts.text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      section = head[1]!.trim();
      continue;
    }
    if (section !== 'console_scripts' && section !== 'gui_scripts') continue;
    const m = /^([^=]+?)\s*=\s*([^\s:[]+)\s*(?::\s*([^\s[]+))?\s*(\[.*\])?$/.exec(line);
    if (!m) return err(`cannot read the entry point "${line}"; expected name = module:function`);
    const [, name, module, attr] = m as unknown as [string, string, string, string | undefined];
    if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name)) return err(`the entry point name "${name}" is not a plain file name; refused`);
    if (!IDENT.test(module)) return err(`the entry point "${name}" names the module "${module}", not a dotted Python name`);
    if (attr === undefined || !IDENT.test(attr)) return err(`the entry point "${name}" names no function (module:function)`);
    const top = attr.split('.')[0]!;
    const script =
      `#!${opts.scheme.interpreter}\n` +
      '# -*- coding: utf-8 -*-\n' +
      'import re\n' +
      'import sys\n' +
      `from ${module} import ${top}\n` +
      "if __name__ == '__main__':\n" +
      "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n" +
      `    sys.exit(${attr}())\n`;
    out.push({ name, data: Buffer.from(script) });
  }
  return ok(out);
}

/** Every wheel's files in one tree; two wheels writing one path is an error, not a silent overwrite. */
export function mergeInstalls(installs: InstalledFile[][]): Result<InstalledFile[], InstallConflictError> {
  const byPath = new Map<string, InstalledFile>();
  for (const files of installs) {
    for (const f of files) {
      const old = byPath.get(f.path);
      if (old) return err(new InstallConflictError(f.path, old.from, f.from));
      byPath.set(f.path, f);
    }
  }
  // A file where another wheel needs a directory (`pkg` and `pkg/mod.py`) clashes too.
  for (const f of byPath.values()) {
    for (let dir = path.dirname(f.path); dir !== '.' && dir !== '/'; dir = path.dirname(dir)) {
      const file = byPath.get(dir);
      if (file) return err(new InstallConflictError(dir, file.from, f.from));
    }
  }
  return ok([...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)));
}
