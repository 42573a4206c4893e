import type { Position } from '../core/diagnostics.js';

// Checks on a metadata file's raw text that must come before any TOML parser sees it:
// the bytes are UTF-8 (TOML says so; a lenient decode would turn bad bytes into U+FFFD
// and accept them), and nothing nests deeper than MAX_DEPTH (both parsers recurse per
// level and overflow the stack at a few thousand levels).

/** Arrays, inline tables, table headers and dotted keys together nest at most this deep. */
export const MAX_DEPTH = 64;

export interface TextProblem {
  position: Position;
  message: string;
}

/** A file's bytes as text, or where its first byte that is not UTF-8 sits. */
export type Decoded = { ok: true; text: string } | { ok: false; problem: TextProblem };

const strict = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(bytes: Uint8Array): Decoded {
  try {
    return { ok: true, text: strict.decode(bytes) };
  } catch {
    const bad = firstInvalidByte(bytes);
    let lineStart = 0;
    let line = 1;
    for (let i = 0; i < bad; i++) {
      if (bytes[i] === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    // the column counts characters, as the parsers' positions do
    const col = [...new TextDecoder('utf-8').decode(bytes.subarray(lineStart, bad))].length + 1;
    const hex = (bytes[bad] ?? 0).toString(16).toUpperCase().padStart(2, '0');
    return {
      ok: false,
      problem: { position: { line, col }, message: `invalid UTF-8 (byte 0x${hex} at offset ${bad}): TOML files must be UTF-8; re-save the file as UTF-8` },
    };
  }
}

/** Offset where the first ill-formed UTF-8 sequence (RFC 3629) starts. */
function firstInvalidByte(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f; // no surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      const x = b[i + k];
      if (x === undefined || x < (k === 1 ? lo : 0x80) || x > (k === 1 ? hi : 0xbf)) return i; // the start of the broken sequence
    }
    i += n + 1;
  }
  return b.length;
}

interface Frame {
  kind: '[' | '{';
  /** depth of the values directly inside */
  depth: number;
}

const BARE_KEY = /[A-Za-z0-9_-]/;

/**
 * An upper bound of the nesting depth, counting characters only: every level is a key
 * part after a ".", an array's "[", or an inline table's "{" with the first part of a
 * key inside it; a header's and a top-level key's first parts add two. Dots in strings
 * count too, which only makes the bound looser. Almost every file is far below the
 * limit, and this is a tenth of the lexer's cost.
 */
function nestingBound(text: string): number {
  let n = 2;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e || c === 0x5b) n++; // . [
    else if (c === 0x7b) n += 2; // {
  }
  return n;
}

/**
 * Finds the first place where nesting goes beyond `max`, without parsing: a small
 * lexer that knows TOML's strings, comments, headers, keys and brackets. On text that
 * is not TOML it may see less than a parser would, but a parser stops at the first
 * error, and up to there the two agree.
 */
export function findDeepNesting(text: string, max = MAX_DEPTH): TextProblem | undefined {
  if (nestingBound(text) <= max) return undefined;
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const stack: Frame[] = [];
  /** depth given by the last table header: keys below it sit that deep */
  let headerDepth = 0;
  let mode: 'key' | 'value' | 'after' = 'key';
  let cur = 0;
  const at = (): Position => ({ line, col: [...text.slice(lineStart, i)].length + 1 });
  const tooDeep = (): TextProblem => ({ position: at(), message: `nesting deeper than ${max} levels: arrays, tables and dotted keys nest at most ${max} deep; flatten this value` });
  const newline = () => {
    line++;
    lineStart = i + 1;
  };
  /** skips a string starting at i; returns the index after it */
  const skipString = (): void => {
    const q = text[i]!;
    const multi = text.startsWith(q.repeat(3), i);
    i += multi ? 3 : 1;
    while (i < text.length) {
      const c = text[i]!;
      if (c === '\\' && q === '"') {
        if (text[i + 1] === '\n') newline();
        i += 2;
        continue;
      }
      if (c === '\n') {
        if (!multi) return; // unterminated: the parser reports it
        newline();
      } else if (multi ? text.startsWith(q.repeat(3), i) : c === q) {
        i += multi ? 3 : 1;
        while (multi && text[i] === q) i++; // up to two quotes may end the content
        return;
      }
      i++;
    }
  };
  const skipComment = () => {
    while (i < text.length && text[i] !== '\n') i++;
  };
  /** reads a (dotted) key at i; returns how many parts it has */
  const readKey = (stop: string): number => {
    let parts = 0;
    while (i < text.length) {
      const c = text[i]!;
      if (c === ' ' || c === '\t') i++;
      else if (c === '"' || c === "'") {
        skipString();
        parts++;
      } else if (BARE_KEY.test(c)) {
        while (i < text.length && BARE_KEY.test(text[i]!)) i++;
        parts++;
      } else if (c === '.') i++;
      else break; // at `stop` or something the parser will refuse
      if (stop && text[i] === stop) break;
    }
    return parts;
  };

  while (i < text.length) {
    const c = text[i]!;
    const top = stack[stack.length - 1];
    if (c === '\n') {
      newline();
      i++;
      if (!top) mode = 'key';
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      skipComment();
      continue;
    }
    if (mode === 'key') {
      if (!top && c === '[') {
        const start = i;
        i += text[i + 1] === '[' ? 2 : 1;
        const parts = readKey(']');
        if (parts > max) {
          i = start;
          return tooDeep();
        }
        headerDepth = parts;
        while (text[i] === ']') i++;
        mode = 'after';
        continue;
      }
      if (top && c === '}') {
        stack.pop();
        i++;
        mode = 'after';
        continue;
      }
      const start = i;
      const parts = readKey('=');
      if (i === start) {
        i++; // not a key: the parser reports it
        continue;
      }
      cur = (top ? top.depth : headerDepth) + parts;
      if (cur > max) {
        i = start;
        return tooDeep();
      }
      if (text[i] === '=') {
        i++;
        mode = 'value';
      }
      continue;
    }
    if (c === '[' || c === '{') {
      if (mode !== 'value') {
        i++;
        continue;
      }
      const depth = cur + 1;
      if (depth > max) return tooDeep();
      stack.push({ kind: c, depth });
      i++;
      if (c === '[') cur = depth;
      mode = c === '[' ? 'value' : 'key';
      continue;
    }
    if (c === ']' || c === '}') {
      if (top && top.kind === (c === ']' ? '[' : '{')) stack.pop();
      i++;
      mode = 'after';
      continue;
    }
    if (c === ',') {
      i++;
      if (top?.kind === '[') {
        mode = 'value';
        cur = top.depth;
      } else if (top?.kind === '{') mode = 'key';
      continue;
    }
    if (c === '"' || c === "'") {
      skipString();
      mode = 'after';
      continue;
    }
    // a number, boolean or date (or junk the parser refuses): up to the next delimiter,
    // always at least one character so the scan ends
    do i++;
    while (i < text.length && !/[\s,\]}#[{"'=]/.test(text[i]!));
    mode = 'after';
  }
  return undefined;
}
