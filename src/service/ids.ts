import { randomBytes } from 'node:crypto';

// Job ids are ULIDs (Crockford base32: 10 characters of milliseconds, 16 of randomness):
// they sort by submission time as plain strings, which is the order LevelDB keeps its keys
// in and the order `GET /jobs` lists newest-first, with no second index.

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ID_PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

let last = { ms: -1, random: [] as number[] };

/** A new job id, strictly greater than every id this process made before. */
export function newJobId(now: number = Date.now()): string {
  let random: number[];
  if (now <= last.ms) {
    // Same millisecond (or a clock step back): increment the previous randomness so order holds.
    random = [...last.random];
    for (let i = random.length - 1; i >= 0; i--) {
      if (random[i]! < 31) {
        random[i]! += 1;
        break;
      }
      random[i] = 0;
    }
    now = last.ms;
  } else {
    const bytes = randomBytes(16);
    random = [...bytes].map((b) => b & 31);
  }
  last = { ms: now, random };
  let time = '';
  for (let i = 0, t = now; i < 10; i++, t = Math.floor(t / 32)) time = ALPHABET[t % 32]! + time;
  return time + random.map((r) => ALPHABET[r]).join('');
}

/** Whether `s` is a job id as newJobId makes them (the API refuses anything else before a look-up). */
export function isJobId(s: string): boolean {
  return ID_PATTERN.test(s);
}

/** The submission time encoded in an id. */
export function jobIdTime(id: string): number {
  let t = 0;
  for (const c of id.slice(0, 10)) t = t * 32 + ALPHABET.indexOf(c);
  return t;
}
