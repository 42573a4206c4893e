import { parseDate, type PatchDate } from './dates.js';
import { decodeWords, parseIdentity, type Identity } from './identity.js';

// Splits a patch file into its description (which becomes the commit message,
// author and date) and its diff. Three shapes are read: git format-patch mails,
// Debian DEP-3 headers, and bare diffs with optional free text above them.

export interface PatchHeader {
  /** one line; undefined when the patch has no description at all */
  subject: string | undefined;
  /** already cleaned up like git's stripspace; '' when there is none */
  body: string;
  author: Identity | undefined;
  date: PatchDate | undefined;
}

export interface SplitPatch {
  header: PatchHeader;
  /** the diff part of the patch, from its first diff line to the end */
  diff: string;
  /** 0-based line of the patch where `diff` starts, to point at lines in messages */
  diffLine: number;
}

export type HeaderProblem = { problem: string };

// Fields only DEP-3 uses; seeing one means Subject/Description continuation lines
// are a long description, not a folded mail header.
const DEP3_ONLY = /^(description|author|origin|bug(-.*)?|forwarded|applied-upstream|last-update|reviewed-by|acked-by)$/i;
const KNOWN = /^(from|subject|date)$/i;
// DEP-3 fields that carry provenance worth keeping in the commit message, in file order.
const DEP3_TRAILER = /^(origin|bug(-.*)?|forwarded|applied-upstream|reviewed-by|acked-by|last-update)$/i;

interface Field {
  key: string;
  lines: string[];
}

export function splitPatch(text: string): SplitPatch | HeaderProblem {
  const lines = text.split('\n');
  const start = diffStart(lines);
  const pre = lines.slice(0, start).map((l) => l.replace(/\r$/, ''));
  const diff = lines.slice(start).join('\n');

  let i = 0;
  // "From <sha> Mon Sep 17 00:00:00 2001": the mbox separator format-patch writes, not prose starting with "From".
  const mbox = pre[0] !== undefined && /^From \S+ +[A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4}/.test(pre[0]);
  if (mbox) i = 1;
  const { fields, next } = readFields(pre, i);
  const hasHeader = fields.some((f) => KNOWN.test(f.key) || DEP3_ONLY.test(f.key));
  const rest = hasHeader ? pre.slice(next) : pre.slice(i);

  let header: PatchHeader | HeaderProblem;
  if (!hasHeader) header = plain(rest);
  else if (!mbox && fields.some((f) => DEP3_ONLY.test(f.key))) header = dep3(fields, rest);
  else header = mail(fields, rest);
  if ('problem' in header) return header;
  return { header, diff, diffLine: start };
}

/** The first line of the diff proper, as git mailinfo and patch(1) see it. */
function diffStart(lines: string[]): number {
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^diff (--git |-)/.test(l) || /^Index: /.test(l) || /^@@ -\d/.test(l)) return i;
    if (/^--- \S/.test(l) && /^\+\+\+ \S/.test(lines[i + 1] ?? '')) return i;
  }
  return lines.length;
}

/** RFC 822 style fields with continuation lines, up to a blank line or the first line that is not one. */
function readFields(lines: string[], from: number): { fields: Field[]; next: number } {
  const fields: Field[] = [];
  let i = from;
  for (; i < lines.length; i++) {
    const l = lines[i]!;
    const m = /^([A-Za-z][A-Za-z0-9-]*):[ \t]?(.*)$/.exec(l);
    if (m) fields.push({ key: m[1]!, lines: [m[2]!] });
    else if (/^[ \t]/.test(l) && fields.length > 0 && l.trim() !== '') fields[fields.length - 1]!.lines.push(l);
    else {
      if (l.trim() === '') i++;
      break;
    }
  }
  return { fields, next: i };
}

function field(fields: Field[], ...keys: string[]): Field | undefined {
  for (const key of keys) {
    const f = fields.find((x) => x.key.toLowerCase() === key);
    if (f) return f;
  }
  return undefined;
}

const unfold = (f: Field) => f.lines.map((l) => l.trim()).join(' ').trim();

function mail(fields: Field[], rest: string[]): PatchHeader | HeaderProblem {
  let body = untilSeparator(rest);
  // git am honours From:/Date:/Subject: at the top of the body (a patch sent on someone's behalf).
  const inBody = readFields(dropLeadingBlank(body), 0);
  if (inBody.fields.length > 0 && inBody.fields.every((f) => KNOWN.test(f.key))) {
    fields = [...inBody.fields, ...fields];
    body = dropLeadingBlank(body).slice(inBody.next);
  }
  const subjectField = field(fields, 'subject');
  const fromField = field(fields, 'from');
  const dateField = field(fields, 'date');
  const author = fromField ? parseIdentity(unfold(fromField)) : undefined;
  if (fromField && !author) return { problem: `cannot read the author in "From: ${unfold(fromField)}"` };
  const date = dateField ? parseDate(unfold(dateField)) : undefined;
  if (dateField && !date) return { problem: `cannot read the date in "Date: ${unfold(dateField)}"` };
  const subject = subjectField ? cleanSubject(decodeWords(unfold(subjectField))) : undefined;
  return { subject: subject || undefined, body: stripspace(body), author, date };
}

function dep3(fields: Field[], rest: string[]): PatchHeader | HeaderProblem {
  const desc = field(fields, 'description', 'subject');
  let subject: string | undefined;
  const long: string[] = [];
  if (desc) {
    subject = desc.lines[0]!.trim() || undefined;
    // Debian control-file convention: continuation lines are indented, " ." is a blank line.
    for (const l of desc.lines.slice(1)) long.push(l.trim() === '.' ? '' : l.replace(/^[ \t]/, ''));
  }
  const authorField = field(fields, 'author', 'from');
  const author = authorField ? parseIdentity(unfold(authorField)) : undefined;
  if (authorField && !author) return { problem: `cannot read the author in "${authorField.key}: ${unfold(authorField)}"` };
  const dateField = field(fields, 'date', 'last-update');
  const date = dateField ? parseDate(unfold(dateField)) : undefined;
  if (dateField && !date) return { problem: `cannot read the date in "${dateField.key}: ${unfold(dateField)}"` };
  const trailers = fields.filter((f) => DEP3_TRAILER.test(f.key)).map((f) => `${f.key}: ${unfold(f)}`);
  const body = [long.join('\n'), untilSeparator(rest).join('\n'), trailers.join('\n')]
    .map((part) => stripspace(part.split('\n')))
    .filter((part) => part !== '')
    .join('\n\n');
  return { subject, body, author, date };
}

/** A bare diff: any free text above it is the message, its first line the subject. */
function plain(rest: string[]): PatchHeader {
  const text = stripspace(untilSeparator(rest));
  if (!text) return { subject: undefined, body: '', author: undefined, date: undefined };
  const [first, ...others] = text.split('\n');
  return { subject: first!.trim(), body: stripspace(others), author: undefined, date: undefined };
}

/** The description ends at git's "---" line; the diffstat after it is not part of the message. */
function untilSeparator(lines: string[]): string[] {
  const end = lines.findIndex((l) => /^---\s*$/.test(l));
  return end < 0 ? lines : lines.slice(0, end);
}

function dropLeadingBlank(lines: string[]): string[] {
  let i = 0;
  while (i < lines.length && lines[i]!.trim() === '') i++;
  return lines.slice(i);
}

/**
 * Strips "Re:" and leading "[PATCH v2 3/7]" style tags, as git am does; other
 * bracketed tags ("[meson] ...") are part of the subject and stay (git am --keep-non-patch).
 */
export function cleanSubject(subject: string): string {
  let s = subject.trim();
  for (;;) {
    const next = s.replace(/^(re|aw):\s*/i, '').replace(/^\[[^\]]*\bPATCH\b[^\]]*\]\s*/i, '');
    if (next === s) return s.replace(/\s+/g, ' ');
    s = next;
  }
}

/** git's stripspace: no trailing whitespace, no runs of blank lines, none at either end. */
export function stripspace(lines: string[]): string {
  const out: string[] = [];
  for (const raw of lines) {
    const l = raw.replace(/\s+$/, '');
    if (l === '' && (out.length === 0 || out[out.length - 1] === '')) continue;
    out.push(l);
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out.join('\n');
}
