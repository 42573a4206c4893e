import { distance } from 'fastest-levenshtein';

/**
 * The candidate closest to `input`, if it is close enough to be a plausible typo
 * (two edits, or a third of the input for long inputs; one for very short ones).
 */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  const limit = input.length <= 3 ? 1 : Math.max(2, Math.floor(input.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = input.toLowerCase();
  for (const c of candidates) {
    // the distance is at least the difference in length: skip the quadratic work (a 10 MB key)
    if (Math.abs(input.length - c.length) > Math.min(limit, bestDistance)) continue;
    const d = distance(lower, c.toLowerCase());
    if (d < bestDistance || (d === bestDistance && best !== undefined && c < best)) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}
