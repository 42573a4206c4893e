import { describe, expect, it } from 'vitest';
import { parseDate } from '../../../src/mirror/patches/dates.js';
import { parseIdentity } from '../../../src/mirror/patches/identity.js';
import { parsePatchFile } from '../../../src/mirror/patches/parse.js';

// The description half of a patch: what becomes the commit message, author and date.

const DIFF = 'diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n';
const ctx = { patch: 'p.patch', base: 'upstream/1.0' };

function parse(text: string) {
  const r = parsePatchFile({ text, ctx });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

describe('patch descriptions', () => {
  it('reads a format-patch mail: encoded author, folded subject, [PATCH n/m], body up to ---', () => {
    const p = parse(
      [
        'From 1234567890abcdef1234567890abcdef12345678 Mon Sep 17 00:00:00 2001',
        'From: =?UTF-8?q?Bj=C3=B6rn=20=C3=85str=C3=B6m?= <bjorn@example.org>',
        'Date: Tue, 5 Mar 2024 09:08:07 +0530',
        'Subject: [PATCH v2 2/7] Make the configure check for s390x work with a very',
        ' long subject line',
        '',
        'Body line one.   ',
        '',
        '',
        'Body line two.',
        '---',
        ' x | 2 +-',
        ' 1 file changed, 1 insertion(+), 1 deletion(-)',
        '',
        DIFF + '-- ',
        '2.39.5',
        '',
      ].join('\n'),
    );
    expect(p.author).toEqual({ name: 'Björn Åström', email: 'bjorn@example.org' });
    expect(p.date).toEqual({ timestamp: Date.UTC(2024, 2, 5, 9, 8, 7) / 1000 - 330 * 60, timezoneOffset: -330 });
    expect(p.message).toBe(
      'Make the configure check for s390x work with a very long subject line\n\nBody line one.\n\nBody line two.\n',
    );
    expect(p.files).toHaveLength(1);
  });

  it('takes From:, Date: and Subject: at the top of the body over the mail headers, as git am does', () => {
    const p = parse(
      'From: Sender <s@x.org>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nSubject: [PATCH] sent\n\nFrom: "Doe, Jane" <jane@x.org>\nDate: Tue, 2 Jan 2024 10:00:00 -0800\n\nreal body\n---\n' +
        DIFF,
    );
    expect(p.author).toEqual({ name: 'Doe, Jane', email: 'jane@x.org' });
    expect(p.date?.timezoneOffset).toBe(480);
    expect(p.message).toBe('sent\n\nreal body\n');
  });

  it('keeps bracketed tags that are not PATCH tags', () => {
    expect(parse('Subject: [PATCH 1/2] [meson] fix the build\n\n' + DIFF).message).toBe('[meson] fix the build\n');
    expect(parse('Subject: Re: [RFC PATCH] x\n\n' + DIFF).message).toBe('x\n');
  });

  it('reads DEP-3 with Subject and From as aliases, and bare free text above a diff', () => {
    const dep3 = parse('Subject: fix the thing\n more detail\nFrom: Dev <dev@x.org>\nOrigin: upstream, https://x.org/c/1\n\n' + DIFF);
    expect(dep3.message).toBe('fix the thing\n\nmore detail\n\nOrigin: upstream, https://x.org/c/1\n');
    expect(dep3.author).toEqual({ name: 'Dev', email: 'dev@x.org' });
    expect(dep3.date).toBeUndefined();
    const plain = parse('Fix the build with gcc 14.\n\nIt warns about implicit declarations.\n\n' + DIFF);
    expect(plain.message).toBe('Fix the build with gcc 14.\n\nIt warns about implicit declarations.\n');
    expect(plain.author).toBeUndefined();
    expect(parse(DIFF).message).toBe('Apply p.patch\n');
    expect(parse('From the upstream tracker: fix x\n\n' + DIFF).message).toBe('From the upstream tracker: fix x\n');
  });
});

describe('diffs', () => {
  it('reads quilt output with Index: lines and strips the first component of each name', () => {
    const p = parse(
      'Index: pkg-1.0/src/a.c\n===================================================================\n--- pkg-1.0.orig/src/a.c\n+++ pkg-1.0/src/a.c\n@@ -1 +1 @@\n-a\n+b\n' +
        'Index: pkg-1.0/b.c\n===================================================================\n--- pkg-1.0.orig/b.c\n+++ pkg-1.0/b.c\n@@ -1 +1,2 @@\n b\n+c\n',
    );
    expect(p.files.map((f) => [f.kind, f.oldPath, f.newPath, f.hunks.map((h) => h.header)])).toEqual([
      ['modify', 'src/a.c', 'src/a.c', ['@@ -1 +1 @@']],
      ['modify', 'b.c', 'b.c', ['@@ -1 +1,2 @@']],
    ]);
  });

  it('asks for a leading directory rather than guessing a strip level', () => {
    const r = parsePatchFile({ text: '--- a.c\n+++ a.c\n@@ -1 +1 @@\n-a\n+b\n', ctx });
    expect(!r.ok && r.error.message).toBe(
      'p.patch: a.c: file names need a leading directory to strip (a/ and b/, or pkg.orig/ and pkg/), as git diff and diff -ru old new write them',
    );
  });
});

describe('dates and identities', () => {
  it('parses the date forms patches use, in the author\'s zone', () => {
    const t = Date.UTC(2024, 0, 4, 10, 20, 30) / 1000;
    expect(parseDate('Thu, 4 Jan 2024 10:20:30 +0100')).toEqual({ timestamp: t - 3600, timezoneOffset: -60 });
    expect(parseDate('Thu, 04 Jan 2024 10:20:30 -0000 (UTC)')).toEqual({ timestamp: t, timezoneOffset: -0 });
    expect(parseDate('Thu Jan 4 10:20:30 2024 +0100')).toEqual({ timestamp: t - 3600, timezoneOffset: -60 });
    expect(parseDate('2024-01-04T10:20:30+01:00')).toEqual({ timestamp: t - 3600, timezoneOffset: -60 });
    expect(parseDate('2024-01-04')).toEqual({ timestamp: Date.UTC(2024, 0, 4) / 1000, timezoneOffset: 0 });
    expect(parseDate('2024-02-31')).toBeUndefined();
    expect(parseDate('soon')).toBeUndefined();
  });

  it('parses the address forms patches use', () => {
    expect(parseIdentity('Jane Doe <jane@x.org>')).toEqual({ name: 'Jane Doe', email: 'jane@x.org' });
    expect(parseIdentity('jane@x.org (Jane Doe)')).toEqual({ name: 'Jane Doe', email: 'jane@x.org' });
    expect(parseIdentity('jane@x.org')).toEqual({ name: 'jane@x.org', email: 'jane@x.org' });
    expect(parseIdentity('=?iso-8859-1?b?Sm9z6Q==?= <jose@x.org>')).toEqual({ name: 'José', email: 'jose@x.org' });
    expect(parseIdentity('=?utf-8?q?A?= =?utf-8?q?B?= <ab@x.org>')).toEqual({ name: 'AB', email: 'ab@x.org' });
    expect(parseIdentity('nobody')).toBeUndefined();
  });
});
