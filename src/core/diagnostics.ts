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
