import { stripVTControlCharacters } from 'node:util';
import cliTruncate from 'cli-truncate';
import stringWidth from 'string-width';

// A live view redraws by moving the cursor up one line per line it drew. A line wider than
// the terminal wraps into two, the redraw erases one too few, and stale headers pile up in
// the scrollback: so every line is cut to the terminal's width here, before ink sees it.

/** Log text as one safe line: escapes, tabs and other control characters gone (a tab's width depends on the column). */
export function oneLine(text: string): string {
  return stripVTControlCharacters(text).replace(/\t/g, ' ').replace(/[\x00-\x1f\x7f]/g, '');
}

/** Cuts segments, in order, so together they take at most `columns` cells; empty ones are dropped. */
export function fitSegments<S extends { text: string }>(segments: S[], columns: number): S[] {
  const out: S[] = [];
  let left = columns;
  for (const s of segments) {
    if (left <= 0) break;
    const w = stringWidth(s.text);
    const text = w <= left ? s.text : cliTruncate(s.text, left, { position: 'end' });
    if (text) out.push({ ...s, text });
    left -= stringWidth(text);
  }
  return out;
}

export function fitLine(text: string, columns: number): string {
  return fitSegments([{ text: oneLine(text) }], columns)[0]?.text ?? '';
}
