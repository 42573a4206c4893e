// Reads the tar a .deb's data member holds, from memory: ustar, GNU long names
// (L/K) and PAX records, which is what dpkg-deb has ever written.

export interface RawTarEntry {
  path: string;
  /** '0' file, '1' hardlink, '2' symlink, '5' dir, others as found */
  typeflag: string;
  mode: number;
  link: string;
  data: Buffer;
}

function num(b: Buffer): number {
  // base-256 for values that do not fit octal (GNU extension)
  if (b[0]! & 0x80) {
    let v = 0;
    for (let i = 1; i < b.length; i++) v = v * 256 + b[i]!;
    return v;
  }
  const s = b.toString('latin1').replace(/[\0 ]+.*$/s, '').trim();
  return s ? parseInt(s, 8) : 0;
}

function str(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
}

function parsePax(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < b.length) {
    const sp = b.indexOf(0x20, at);
    if (sp < 0) break;
    const len = Number(b.subarray(at, sp).toString('latin1'));
    if (!len) break;
    const rec = b.subarray(sp + 1, at + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    at += len;
  }
  return out;
}

export function readTar(buf: Buffer): { entries: RawTarEntry[] } | { error: string } {
  const entries: RawTarEntry[] = [];
  let at = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Record<string, string> = {};
  while (at + 512 <= buf.length) {
    const h = buf.subarray(at, at + 512);
    if (h.every((x) => x === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== num(h.subarray(148, 156))) return { error: `tar header checksum mismatch at byte ${at}` };
    const typeflag = String.fromCharCode(h[156]!) === '\0' ? '0' : String.fromCharCode(h[156]!);
    const size = num(h.subarray(124, 136));
    const start = at + 512;
    if (start + size > buf.length) return { error: `tar entry at byte ${at} is truncated` };
    const data = buf.subarray(start, start + size);
    at = start + size + ((512 - (size % 512)) % 512);
    if (typeflag === 'L') longName = str(data);
    else if (typeflag === 'K') longLink = str(data);
    else if (typeflag === 'x') pax = { ...pax, ...parsePax(data) };
    else if (typeflag === 'g') continue;
    else {
      const prefix = h.subarray(257, 263).toString('latin1') === 'ustar\0' ? str(h.subarray(345, 500)) : '';
      const name = str(h.subarray(0, 100));
      entries.push({
        path: pax['path'] ?? longName ?? (prefix ? `${prefix}/${name}` : name),
        typeflag,
        mode: num(h.subarray(100, 108)),
        link: pax['linkpath'] ?? longLink ?? str(h.subarray(157, 257)),
        data: typeflag === '0' || typeflag === '7' ? data : Buffer.alloc(0),
      });
      longName = longLink = undefined;
      pax = {};
    }
  }
  return { entries };
}
