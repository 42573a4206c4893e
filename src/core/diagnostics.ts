// A diagnostic points a packager at the exact spot in a metadata file.
// Printed as `file:line:col: severity: message`, the form editors and CI annotate.
export type Severity = 'error' | 'warning' | 'note';

export interface Position {
  /** 1-based line */
  line: number;
  /** 1-based column */
  col: number;
}

export interface Diagnostic extends Position {
  /** path as shown to the user: relative to the cwd, or `<ref>:<path>` for a git ref */
  file: string;
  severity: Severity;
  message: string;
  /** further locations that explain this one (e.g. every edge of a cycle) */
  notes?: Array<Position & { file: string; message: string }>;
}

export function formatDiagnostic(d: Diagnostic): string {
  const lines = [`${d.file}:${d.line}:${d.col}: ${d.severity}: ${d.message}`];
  for (const n of d.notes ?? []) lines.push(`${n.file}:${n.line}:${n.col}: note: ${n.message}`);
  return lines.join('\n');
}

/** Stable order: by file, then position, so output does not depend on I/O timing. */
export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.line - b.line ||
      a.col - b.col ||
      (a.message < b.message ? -1 : a.message > b.message ? 1 : 0),
  );
}

export function countErrors(ds: Diagnostic[]): number {
  return ds.filter((d) => d.severity === 'error').length;
}

/** How much of a user's text a message quotes: enough to recognise it, never a whole file. */
export const QUOTE_MAX = 80;

/**
 * User text as a diagnostic shows it: control characters escaped, and cut after
 * QUOTE_MAX characters with its full size in bytes, so a 10 MB key does not come back whole.
 */
export function clip(text: string): string {
  let shown = text.length > QUOTE_MAX ? text.slice(0, QUOTE_MAX) : text;
  if (text.length > QUOTE_MAX && /[\ud800-\udbff]$/.test(shown)) shown = shown.slice(0, -1);
  // eslint-disable-next-line no-control-regex
  shown = shown.replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  return text.length > QUOTE_MAX ? `${shown}…(${Buffer.byteLength(text)} bytes)` : shown;
}

/** User text in double quotes, as `clip` shows it. */
export function quote(text: string): string {
  return `"${clip(text)}"`;
}
