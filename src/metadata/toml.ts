import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { clip, type Position } from '../core/diagnostics.js';

export type TomlTable = { [key: string]: unknown };
export type TomlPath = ReadonlyArray<string | number>;

/** Where a problem sits: on a key, on its value, or on a table's header. */
export type Anchor = 'key' | 'value' | 'table';

export type ParseOutcome = { ok: true; doc: TomlTable } | { ok: false; position: Position; message: string };

// Loaded on first parse: commands that find everything in caches (a no-op build) never pay for it.
let iarna: typeof import('@iarna/toml') | undefined;
const toml = (): typeof import('@iarna/toml') => (iarna ??= createRequire(import.meta.url)('@iarna/toml') as typeof import('@iarna/toml'));

/** Parse with @iarna/toml (fast, values only); positions are looked up later, only for files with problems. */
export function parseToml(text: string): ParseOutcome {
  try {
    return { ok: true, doc: toml().parse(text) as TomlTable };
  } catch (e: unknown) {
    // findDeepNesting runs first; this is the backstop should the parser still recurse too far
    if (e instanceof RangeError) return { ok: false, position: { line: 1, col: 1 }, message: 'too deeply nested to parse; flatten the arrays and tables' };
    const x = e as { fromTOML?: boolean; line?: number; col?: number; message?: string };
    if (!x.fromTOML) throw e;
    // The library appends " at row R, col C, pos P:" and a code frame; keep the sentence.
    const sentence = (x.message ?? 'syntax error').split(/ at row \d+/)[0] ?? 'syntax error';
    return {
      ok: false,
      position: { line: (x.line ?? 0) + 1, col: (x.col ?? 0) + 1 },
      message: sentence.charAt(0).toLowerCase() + sentence.slice(1),
    };
  }
}

/**
 * One TOML file read and parsed alone, outside metadata validation (the store verbs read
 * weld.toml this way, so they work while other metadata is broken); undefined when the
 * file cannot be read.
 */
export function parseTomlFile(file: string): ParseOutcome | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return parseToml(text);
}

export function isTable(v: unknown): v is TomlTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

export function tomlTypeName(v: unknown): string {
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a float';
  if (typeof v === 'bigint') return 'an integer';
  if (typeof v === 'boolean') return 'a boolean';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a date-time';
  return 'a table';
}

export function formatPath(path: TomlPath): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z0-9_-]+$/.test(p) ? p : JSON.stringify(clip(p)))).join('.').replace(/\.\[/g, '[');
}
