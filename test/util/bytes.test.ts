import { describe, expect, it } from 'vitest';
import { parseByteSize } from '../../src/util/bytes.js';

describe('parseByteSize', () => {
  it('reads byte counts and binary units', () => {
    expect(parseByteSize(4096)).toBe(4096);
    expect(parseByteSize('4096')).toBe(4096);
    expect(parseByteSize('8GiB')).toBe(8 * 2 ** 30);
    expect(parseByteSize('1.5 GiB')).toBe(1.5 * 2 ** 30);
    expect(parseByteSize('512MiB')).toBe(512 * 2 ** 20);
    expect(parseByteSize('3KiB')).toBe(3072);
    expect(parseByteSize('2TiB')).toBe(2 * 2 ** 40);
    expect(parseByteSize('100B')).toBe(100);
  });

  it('refuses what is not a positive size', () => {
    for (const bad of ['', 'GiB', '8 gigs', '8GB', '-1', '0', '1e9', '8 GiB extra']) expect(parseByteSize(bad), bad).toBeUndefined();
    expect(parseByteSize(0)).toBeUndefined();
    expect(parseByteSize(-5)).toBeUndefined();
    expect(parseByteSize(1.5)).toBeUndefined();
  });
});
