import { clip, quote } from '../core/diagnostics.js';
import { closest } from '../util/suggest.js';
import { formatPath, isTable, tomlTypeName, type Anchor, type TomlPath, type TomlTable } from './toml.js';

// A small declarative schema for weld's TOML files. Hand-written rather than zod & co.
// because every message must name the TOML key, say what is valid and carry a path
// that the Locator turns into file:line:col; a general validator would need all of
// that bolted on, and its load time counts against `weld check`'s start-up budget.

export interface Problem {
  path: TomlPath;
  anchor: Anchor;
  message: string;
  /** extra locations, possibly in other files */
  related?: Array<{ file: string; path: TomlPath; anchor: Anchor; message: string }>;
}

export type FieldKind = 'string' | 'integer' | 'boolean' | 'string-array' | 'string-table' | 'integer-or-string';

export interface FieldSpec {
  kind: FieldKind;
  required?: boolean;
  /** a valid line, shown when the key is missing or mistyped, e.g. `release = 1` */
  example: string;
}

export interface TableSpec {
  required?: boolean;
  /** `[[name]]`: an array of tables */
  array?: boolean;
  fields: Record<string, FieldSpec>;
  /** what to write when the table is missing, e.g. `add [upstream] with ...` */
  hint?: string;
}

export type FileSpec = Record<string, TableSpec>;

const KIND_NAMES: Record<FieldKind, string> = {
  string: 'a string',
  integer: 'an integer',
  boolean: 'a boolean (true or false)',
  'string-array': 'an array of strings',
  'string-table': 'a table of strings',
  'integer-or-string': 'an integer or a string',
};

function hasKind(v: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'integer-or-string':
      return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));
    case 'boolean':
      return typeof v === 'boolean';
    case 'string-array':
      return Array.isArray(v);
    case 'string-table':
      return isTable(v);
  }
}

function tableLabel(name: string, spec: TableSpec): string {
  return spec.array ? `[[${name}]]` : `[${name}]`;
}

/**
 * Checks the shape of a parsed file: known tables and keys, types, required keys.
 * Returns the file's tables with only the well-typed values kept, so semantic checks
 * can run on what is there without tripping over what was already reported.
 */
export function checkShape(doc: TomlTable, spec: FileSpec, problems: Problem[]): Record<string, TomlTable[]> {
  const out: Record<string, TomlTable[]> = {};
  const tableNames = Object.keys(spec);
  const labels = tableNames.map((n) => tableLabel(n, spec[n]!)).join(', ');
  for (const [key, value] of Object.entries(doc)) {
    const ts = spec[key];
    if (!ts) {
      if (isTable(value) || (Array.isArray(value) && value.every(isTable))) {
        const guess = closest(key, tableNames);
        const hint = guess ? `did you mean ${tableLabel(guess, spec[guess]!)}? ` : '';
        problems.push({ path: [key], anchor: 'table', message: `unknown table [${clip(key)}]; ${hint}valid tables: ${labels}` });
      } else {
        problems.push({
          path: [key],
          anchor: 'key',
          message: `key ${quote(key)} is outside any table; keys belong in one of ${labels}`,
        });
      }
      continue;
    }
    if (ts.array) {
      if (!Array.isArray(value) || !value.every(isTable)) {
        problems.push({ path: [key], anchor: 'key', message: `${quote(key)} must be an array of tables written [[${key}]], not ${tomlTypeName(value)}` });
        continue;
      }
      out[key] = value.map((t, i) => checkTable(t, [key, i], key, ts, problems));
    } else {
      if (!isTable(value)) {
        problems.push({ path: [key], anchor: 'key', message: `${quote(key)} must be a table written [${key}], not ${tomlTypeName(value)}` });
        continue;
      }
      out[key] = [checkTable(value, [key], key, ts, problems)];
    }
  }
  for (const name of tableNames) {
    const ts = spec[name]!;
    if (ts.required && !(name in doc)) {
      problems.push({
        path: [],
        anchor: 'table',
        message: `missing table ${tableLabel(name, ts)}${ts.hint ? `; ${ts.hint}` : ''}`,
      });
    }
  }
  return out;
}

function checkTable(t: TomlTable, path: TomlPath, name: string, spec: TableSpec, problems: Problem[]): TomlTable {
  const out: TomlTable = {};
  const keys = Object.keys(spec.fields);
  /** keys a misspelling was taken for: their "missing" error would only repeat it */
  const guessed = new Set<string>();
  for (const [key, value] of Object.entries(t)) {
    const fs = spec.fields[key];
    if (!fs) {
      const guess = closest(key, keys);
      if (guess) guessed.add(guess);
      problems.push({
        path: [...path, key],
        anchor: 'key',
        message: `unknown key ${quote(key)} in [${name}]; ${guess ? `did you mean ${quote(guess)}? ` : ''}valid keys: ${keys.join(', ')}`,
      });
      continue;
    }
    if (!hasKind(value, fs.kind)) {
      problems.push({
        path: [...path, key],
        anchor: 'value',
        message: `${quote(key)} in [${name}] must be ${KIND_NAMES[fs.kind]}, not ${tomlTypeName(value)}; e.g. ${fs.example}`,
      });
      continue;
    }
    if (fs.kind === 'string-array' || fs.kind === 'string-table') {
      const entries: Array<[string | number, unknown]> = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value as TomlTable);
      const bad = entries.filter(([, v]) => typeof v !== 'string');
      for (const [k, v] of bad) {
        problems.push({
          path: [...path, key, k],
          anchor: 'value',
          message: `${formatPath([key, k])} in [${name}] must be a string, not ${tomlTypeName(v)}`,
        });
      }
      // A table keeps its good entries so they are checked too; an array is dropped
      // whole, since filtering it would shift the indices later messages point at.
      if (bad.length && Array.isArray(value)) continue;
      if (bad.length) {
        out[key] = Object.fromEntries(entries.filter(([, v]) => typeof v === 'string'));
        continue;
      }
    }
    out[key] = value;
  }
  for (const [key, fs] of Object.entries(spec.fields)) {
    if (fs.required && !(key in t) && !guessed.has(key)) {
      problems.push({ path, anchor: 'table', message: `missing key ${quote(key)} in [${name}]; e.g. ${fs.example}` });
    }
  }
  return out;
}
