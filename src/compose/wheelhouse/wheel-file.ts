import { entryName, openZip } from '../wheel/zip.js';
import { isDistInfoOf, type WheelName } from '../wheel/name.js';

/** The core metadata fields an index needs (PEP 566 / 643 names). */
export interface CoreMetadata {
  name: string;
  version: string;
  requiresPython?: string;
  summary?: string;
  license?: string;
  requiresDist: string[];
}

/**
 * Parses the header part of a METADATA file (RFC 822 style: "Key: value", continuation
 * lines start with whitespace, the body after the first blank line is the description).
 */
export function parseCoreMetadata(text: string): CoreMetadata | string {
  const fields = new Map<string, string[]>();
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if (/^[ \t]/.test(line) && last) {
      const vals = fields.get(last)!;
      vals[vals.length - 1] += '\n' + line.trim();
      continue;
    }
    const m = /^([A-Za-z0-9-]+):[ \t]*(.*)$/.exec(line);
    if (!m) return `line "${line.slice(0, 60)}" is not "Key: value"`;
    last = m[1]!.toLowerCase();
    fields.set(last, [...(fields.get(last) ?? []), m[2]!.trim()]);
  }
  const one = (k: string) => fields.get(k)?.[0];
  const name = one('name');
  const version = one('version');
  if (!name) return 'it has no Name';
  if (!version) return 'it has no Version';
  const requiresPython = one('requires-python');
  const summary = one('summary');
  const license = one('license');
  return { name, version, requiresDist: fields.get('requires-dist') ?? [], ...(requiresPython ? { requiresPython } : {}), ...(summary ? { summary } : {}), ...(license ? { license } : {}) };
}

const MAX_METADATA = 16 * 1024 * 1024;

/**
 * The bytes of the wheel's `<dist>-<version>.dist-info/METADATA` (what PEP 658 serves
 * as-is), or why it cannot be read. Only that entry is read.
 */
export async function readWheelMetadata(opts: { file: string; name: WheelName }): Promise<{ bytes: Buffer } | { reason: string }> {
  const wanted = `${opts.name.distribution}-${opts.name.version}.dist-info/METADATA`;
  const zip = await openZip({ file: opts.file });
  if (!zip.ok) return { reason: `not a readable zip: ${zip.error.message}` };
  const candidates: string[] = [];
  try {
    for (;;) {
      const next = await zip.value.next();
      if (!next.ok) return { reason: `not a readable zip: ${next.error.message}` };
      const entry = next.value;
      if (!entry) return { reason: candidates.length ? `it has ${candidates.join(', ')} but not ${wanted} as the file name says` : 'it has no *.dist-info/METADATA' };
      const n = entryName(entry);
      if (!/^[^/]+\.dist-info\/METADATA$/.test(n)) continue;
      if (!isDistInfoOf(n.slice(0, n.indexOf('/')), opts.name)) {
        candidates.push(n);
        continue;
      }
      if (entry.uncompressedSize > MAX_METADATA) return { reason: `${n} is ${entry.uncompressedSize} bytes, more than any METADATA should be` };
      const bytes = await zip.value.read(entry);
      return bytes.ok ? { bytes: bytes.value } : { reason: `cannot read ${n}: ${bytes.error.message}` };
    }
  } finally {
    zip.value.close();
  }
}
