import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { clip, quote } from '../../src/core/diagnostics.js';
import { distroTagRef, isNativeVersion, isPep440Version, refFormatProblem, upstreamRefProblem, upstreamTagRef, versionRef, versionRefProblem } from '../../src/metadata/names.js';
import { rng } from '../helpers/rng.js';

// The ref rules are checked against git itself: `git check-ref-format` decides, on
// generated names, and weld's pure reimplementation must agree with it.

const gitAccepts = (ref: string): boolean => spawnSync('git', ['check-ref-format', ref]).status === 0;

function generate(opts: { seed: number; count: number; alphabet: string[]; first?: string[]; maxLen: number }): string[] {
  const r = rng(opts.seed);
  const pick = (xs: string[]) => xs[Math.floor(r() * xs.length)]!;
  const out = new Set<string>();
  while (out.size < opts.count) {
    let s = opts.first ? pick(opts.first) : '';
    const n = 1 + Math.floor(r() * opts.maxLen);
    for (let i = 0; i < n; i++) s += pick(opts.alphabet);
    out.add(s);
  }
  return [...out];
}

describe('versionRef', () => {
  it('escapes the way DEP-14 does', () => {
    expect(versionRef('6.0')).toBe('6.0');
    expect(versionRef('1.0~rc1')).toBe('1.0_rc1');
    expect(versionRef('2:1.0')).toBe('2%1.0');
    expect(versionRef('1..0')).toBe('1.#.0');
    expect(versionRef('0....0')).toBe('0.#.#.#.0');
    expect(versionRef('1.')).toBe('1.#');
    expect(versionRef('1.0.lock')).toBe('1.0.#lock');
    expect(upstreamTagRef('1.0~rc1')).toBe('refs/tags/upstream/1.0_rc1');
    expect(distroTagRef('1..0', 3)).toBe('refs/tags/distro/1.#.0-3');
  });

  it('maps every version check accepts to refs git accepts (generated versions)', () => {
    const versions = generate({ seed: 1, count: 200, first: ['0', '1', '9'], alphabet: ['.', '.', '0', '1', 'a', 'l', 'o', 'c', 'k', '+', '~', '_', '-', 'rc', 'post', 'dev', '.lock'], maxLen: 8 });
    const accepted = versions.filter((v) => isNativeVersion(v) || isPep440Version(v));
    expect(accepted.length).toBeGreaterThan(150);
    const refused: string[] = [];
    for (const v of accepted) {
      for (const ref of [upstreamTagRef(v), distroTagRef(v, 1)]) if (!gitAccepts(ref)) refused.push(`${v} -> ${ref}`);
      expect(versionRefProblem(v)).toBeUndefined();
    }
    expect(refused).toEqual([]);
  });
});

describe('refFormatProblem', () => {
  it('agrees with git check-ref-format on generated names', () => {
    const names = generate({ seed: 7, count: 300, alphabet: ['a', 'b', '1', '.', '.', '/', '-', '@', '{', '~', '^', ':', '?', '*', '[', '\\', ' ', '.lock', '#', '%', '\t'], maxLen: 7 });
    const disagree: string[] = [];
    for (const n of names) {
      const ref = `refs/tags/${n}`;
      if ((refFormatProblem(ref) === undefined) !== gitAccepts(ref)) disagree.push(JSON.stringify(ref));
    }
    expect(disagree).toEqual([]);
  });

  it('refuses option-like and malformed tags and branches, saying why', () => {
    expect(upstreamRefProblem({ name: '--output=/tmp/x', kind: 'tag' })).toBe('tag "--output=/tmp/x" starts with "-", so git would take it for an option; name the tag as upstream spells it');
    expect(upstreamRefProblem({ name: '--upload-pack=touch /tmp/pwned', kind: 'branch' })).toMatch(/^branch "--upload-pack=touch \/tmp\/pwned" starts with "-"/);
    expect(upstreamRefProblem({ name: 'v1..2', kind: 'tag' })).toBe('tag "v1..2" is not a valid git ref name: it contains ".." (git check-ref-format)');
    expect(upstreamRefProblem({ name: 'release/1.x', kind: 'branch' })).toBeUndefined();
    expect(upstreamRefProblem({ name: 'v6.0', kind: 'tag' })).toBeUndefined();
  });
});

describe('quote', () => {
  it('keeps short text and caps long text with its size', () => {
    expect(quote('pyyaml')).toBe('"pyyaml"');
    const big = 'k'.repeat(10 * 1024 * 1024);
    expect(quote(big)).toBe(`"${'k'.repeat(80)}…(10485760 bytes)"`);
    expect(clip('a\nb')).toBe('a\\nb');
  });
});
