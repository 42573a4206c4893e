// Sizes as people write them in config: a byte count, or a number with a binary unit.

const UNITS: Record<string, number> = { B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 };

/** `8589934592`, `"8GiB"`, `"1.5 GiB"`, `"512MiB"` → bytes; undefined when it is none of those. */
export function parseByteSize(v: number | string): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v > 0 ? v : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB)?\s*$/.exec(v);
  if (!m) return undefined;
  const n = Math.floor(Number(m[1]) * UNITS[m[2] ?? 'B']!);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}
