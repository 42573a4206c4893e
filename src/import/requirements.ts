import { readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { err, ok, type Result } from '../core/result.js';
import { RequirementsFileError } from './errors.js';
import { parseRequirement, type Requirement } from './pep508.js';

// pip's requirements-file format (https://pip.pypa.io/en/stable/reference/requirements-file-format/):
// logical lines joined at a trailing backslash, comments, `-r`/`-c` includes relative to
// the including file, and per-requirement `--hash`. The requirement itself is PEP 508
// (pep508.ts). Options that choose how pip installs (binary or not, trusted hosts) mean
// nothing to an importer that builds from source, and are skipped with a warning.

export interface RequirementLine {
  req: Requirement;
  /** `sha256:<hex>` (lowercase), from --hash options */
  hashes: string[];
  /** a constraint (from a -c file) limits versions but asks for nothing */
  constraint: boolean;
  /** where it was written: `file:line` as shown to the user */
  at: string;
}

export interface RequirementsFiles {
  lines: RequirementLine[];
  /** `-i`/`--index-url` from a file (the command line's wins) */
  indexUrl?: string;
  /** `--pre`: pre-releases may be picked */
  pre: boolean;
  warnings: string[];
}

const MAX_FILE = 4 * 2 ** 20;
const MAX_DEPTH = 32;

/** pip's options that change nothing here: weld builds every project from source. */
const IGNORED = new Set(['--prefer-binary', '--only-binary', '--no-binary', '--trusted-host', '--extra-index-url', '-f', '--find-links', '--no-index', '--use-feature', '--require-hashes']);
const TAKES_VALUE = new Set(['--only-binary', '--no-binary', '--trusted-host', '--extra-index-url', '-f', '--find-links', '--use-feature']);

/** Logical lines: backslash continuations joined, comments dropped; each with its first physical line number. */
function logicalLines(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  const physical = text.split(/\r?\n/);
  let buf = '';
  let start = 0;
  physical.forEach((raw, i) => {
    if (!buf) start = i + 1;
    const joined = buf + raw;
    if (/\\$/.test(joined) && i < physical.length - 1) {
      buf = joined.slice(0, -1);
      return;
    }
    buf = '';
    const noComment = joined.replace(/(^|\s)#.*$/, '').trim();
    if (noComment) out.push({ line: start, text: noComment });
  });
  return out;
}

/** Splits `--hash=sha256:… --hash sha256:…` off the end of a requirement line. */
function splitOptions(text: string): { requirement: string; options: Array<{ name: string; value?: string }> } {
  const idx = text.search(/(^|\s)--?[a-zA-Z]/);
  if (idx < 0) return { requirement: text, options: [] };
  const requirement = text.slice(0, idx).trim();
  const words = text.slice(idx).trim().split(/\s+/);
  const options: Array<{ name: string; value?: string }> = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const eq = w.indexOf('=');
    if (eq > 0) options.push({ name: w.slice(0, eq), value: w.slice(eq + 1) });
    else if (w.startsWith('-') && words[i + 1] !== undefined && !words[i + 1]!.startsWith('-')) options.push({ name: w, value: words[++i]! });
    else options.push({ name: w });
  }
  return { requirement, options };
}

/**
 * Reads requirements files and everything they include. Paths in errors are as the user
 * gave them (joined onto the including file's directory for includes).
 */
export function readRequirementsFiles(opts: { files: string[]; cwd: string }): Result<RequirementsFiles, RequirementsFileError> {
  const out: RequirementsFiles = { lines: [], pre: false, warnings: [] };
  const visiting: string[] = [];
  const read = (shown: string, constraint: boolean, depth: number, from?: string): Result<void, RequirementsFileError> => {
    const abs = path.resolve(opts.cwd, shown);
    let real: string;
    let text: string;
    try {
      real = realpathSync(abs);
      if (!statSync(real).isFile()) return err(new RequirementsFileError(`${from ?? shown}: ${shown} is not a file`));
      if (statSync(real).size > MAX_FILE) return err(new RequirementsFileError(`${from ?? shown}: ${shown} is over ${MAX_FILE / 2 ** 20} MiB; that is not a requirements file`));
      text = readFileSync(real, 'utf8');
    } catch (e: unknown) {
      const code = (e as NodeJS.ErrnoException).code;
      return err(new RequirementsFileError(`${from ? `${from}: ` : ''}cannot read ${shown}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`, from ? 'includes are relative to the file that names them' : undefined));
    }
    if (visiting.includes(real)) return err(new RequirementsFileError(`${from}: ${shown} includes itself: ${[...visiting, real].map((f) => path.relative(opts.cwd, f) || f).join(' → ')}`));
    if (depth > MAX_DEPTH) return err(new RequirementsFileError(`${from}: includes nest more than ${MAX_DEPTH} deep`));
    visiting.push(real);
    try {
      for (const { line, text: l } of logicalLines(text)) {
        const at = `${shown}:${line}`;
        const include = /^(-r|--requirement|-c|--constraint)(?:\s+|=)(\S+)$/.exec(l);
        if (include) {
          const target = include[2]!;
          if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) return err(new RequirementsFileError(`${at}: ${include[1]} ${target}: weld reads only local requirements files`, 'download it and name the local copy'));
          const isConstraint = constraint || include[1] === '-c' || include[1] === '--constraint';
          const r = read(path.join(path.dirname(shown), target), isConstraint, depth + 1, at);
          if (!r.ok) return r;
          continue;
        }
        if (l.startsWith('-')) {
          const { options } = splitOptions(l);
          const first = options[0]!;
          if (first.name === '-i' || first.name === '--index-url') {
            if (!first.value) return err(new RequirementsFileError(`${at}: ${first.name} needs a URL`));
            out.indexUrl ??= first.value;
          } else if (first.name === '--pre') out.pre = true;
          else if (first.name === '-e' || first.name === '--editable') return err(new RequirementsFileError(`${at}: an editable requirement (${l}) names a local tree or VCS URL; weld imports released versions`, 'name the project and its version instead'));
          else if (IGNORED.has(first.name)) out.warnings.push(`${at}: ${first.name} is ignored: weld builds every project from source`);
          else return err(new RequirementsFileError(`${at}: unknown option ${first.name}`, 'weld import understands -r, -c, -i/--index-url, --pre and --hash'));
          if (TAKES_VALUE.has(first.name) && !first.value) return err(new RequirementsFileError(`${at}: ${first.name} needs a value`));
          continue;
        }
        const { requirement, options } = splitOptions(l);
        const parsed = parseRequirement(requirement);
        if (!parsed.ok) return err(new RequirementsFileError(`${at}: invalid requirement "${requirement.slice(0, 80)}": ${parsed.message}`));
        const hashes: string[] = [];
        for (const o of options) {
          if (o.name !== '--hash') return err(new RequirementsFileError(`${at}: option ${o.name} is not allowed after a requirement; only --hash is`));
          const h = /^(sha256|sha384|sha512):([0-9a-fA-F]+)$/.exec(o.value ?? '');
          if (!h) return err(new RequirementsFileError(`${at}: --hash ${o.value ?? ''} is not <algorithm>:<hex digest>`, 'as pip writes it: --hash=sha256:<64 hex digits>'));
          if (h[1] === 'sha256' && h[2]!.length !== 64) return err(new RequirementsFileError(`${at}: --hash ${o.value}: a sha256 digest has 64 hex digits, this has ${h[2]!.length}`));
          hashes.push(`${h[1]}:${h[2]!.toLowerCase()}`);
        }
        out.lines.push({ req: parsed.value, hashes, constraint, at });
      }
    } finally {
      visiting.pop();
    }
    return ok(undefined);
  };
  for (const f of opts.files) {
    const r = read(f, false, 0);
    if (!r.ok) return r;
  }
  return ok(out);
}
