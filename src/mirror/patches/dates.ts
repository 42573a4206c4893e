// Patch dates become commit dates, so they are parsed exactly (never through the
// host's time zone) and keep the author's own offset.

export interface PatchDate {
  /** seconds since the epoch */
  timestamp: number;
  /**
   * minutes, in isomorphic-git's convention (JavaScript's getTimezoneOffset): +0100 is -60.
   * -0 stands for git's "-0000".
   */
  timezoneOffset: number;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

interface Parts {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  zone: string | undefined;
}

/** Parses RFC 2822 mail dates, git's default log format, ISO 8601 and bare YYYY-MM-DD (DEP-3 Last-Update). */
export function parseDate(text: string): PatchDate | undefined {
  const parts = rfc2822(text) ?? gitDefault(text) ?? iso(text);
  return parts ? toPatchDate(parts) : undefined;
}

function rfc2822(text: string): Parts | undefined {
  // Thu, 4 Jan 2024 10:20:30 +0100 (CET)
  const m = /^(?:[A-Za-z]{3},?\s+)?(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([+-]\d{4}|UT|UTC|GMT|Z)?\s*(?:\([^)]*\))?$/.exec(text.trim());
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[2]!.toLowerCase()) + 1;
  if (month === 0) return undefined;
  return { year: +m[3]!, month, day: +m[1]!, hour: +m[4]!, minute: +m[5]!, second: +(m[6] ?? 0), zone: m[7] };
}

function gitDefault(text: string): Parts | undefined {
  // Thu Jan 4 10:20:30 2024 +0100
  const m = /^[A-Za-z]{3}\s+([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})(?:\s+([+-]\d{4}))?$/.exec(text.trim());
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[1]!.toLowerCase()) + 1;
  if (month === 0) return undefined;
  return { year: +m[6]!, month, day: +m[2]!, hour: +m[3]!, minute: +m[4]!, second: +m[5]!, zone: m[7] };
}

function iso(text: string): Parts | undefined {
  // 2024-01-04, 2024-01-04 10:20:30 +0100, 2024-01-04T10:20:30+01:00
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?\s*(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text.trim());
  if (!m) return undefined;
  return {
    year: +m[1]!,
    month: +m[2]!,
    day: +m[3]!,
    hour: +(m[4] ?? 0),
    minute: +(m[5] ?? 0),
    second: +(m[6] ?? 0),
    zone: m[7]?.replace(':', ''),
  };
}

function toPatchDate(p: Parts): PatchDate | undefined {
  const local = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  const check = new Date(local);
  // Date.UTC rolls 31 Feb over into March; a date that does not round-trip is not a date.
  if (check.getUTCDate() !== p.day || check.getUTCMonth() !== p.month - 1 || p.hour > 23 || p.minute > 59 || p.second > 60) {
    return undefined;
  }
  let west = 0; // minutes, isomorphic-git's sign
  if (p.zone && /^[+-]\d{4}$/.test(p.zone)) {
    const minutes = Number(p.zone.slice(1, 3)) * 60 + Number(p.zone.slice(3, 5));
    if (Number(p.zone.slice(3, 5)) > 59) return undefined;
    west = p.zone.startsWith('-') ? (minutes === 0 ? -0 : minutes) : 0 - minutes;
  }
  return { timestamp: Math.floor(local / 1000) + west * 60, timezoneOffset: west };
}
