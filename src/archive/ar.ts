// The ar archive a .deb is: "!<arch>\n", then per member a 60-byte header
// (name 16, mtime 12, uid 6, gid 6, mode 8, size 10, "`\n") and the data, padded to even.

export interface ArMember {
  name: string;
  data: Buffer;
}

export function readAr(bytes: Buffer): { members: ArMember[] } | { error: string } {
  if (bytes.subarray(0, 8).toString('latin1') !== '!<arch>\n') return { error: 'not an ar archive (no "!<arch>" magic)' };
  const members: ArMember[] = [];
  let at = 8;
  while (at < bytes.length) {
    if (at + 60 > bytes.length) return { error: `truncated ar header at byte ${at}` };
    const h = bytes.subarray(at, at + 60).toString('latin1');
    if (h.slice(58, 60) !== '`\n') return { error: `bad ar header at byte ${at}` };
    const name = h.slice(0, 16).trim().replace(/\/$/, '');
    const size = Number(h.slice(48, 58).trim());
    if (!Number.isSafeInteger(size) || size < 0) return { error: `bad ar member size for "${name}"` };
    const start = at + 60;
    if (start + size > bytes.length) return { error: `ar member "${name}" is truncated (${size} bytes declared)` };
    members.push({ name, data: bytes.subarray(start, start + size) });
    at = start + size + (size % 2);
  }
  return { members };
}
