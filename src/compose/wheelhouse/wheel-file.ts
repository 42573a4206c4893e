import yauzl from 'yauzl';
import { normalizeName } from '../../metadata/names.js';

/** A wheel file name split by PEP 427: {dist}-{version}(-{build})?-{python}-{abi}-{platform}.whl */
export interface WheelName {
  distribution: string;
  version: string;
  build?: string;
  tags: string;
}

export function parseWheelName(file: string): WheelName | undefined {
  if (!file.endsWith('.whl') || file.includes('/')) return undefined;
  const parts = file.slice(0, -4).split('-');
  if (parts.length !== 5 && parts.length !== 6) return undefined;
  if (parts.some((p) => p === '')) return undefined;
  const [distribution, version] = parts as [string, string];
  const tags = parts.slice(-3).join('-');
  return { distribution, version, tags, ...(parts.length === 6 ? { build: parts[2]! } : {}) };
}

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
 * as-is), or why it cannot be read. yauzl checks the central directory's bounds.
 */
export function readWheelMetadata(opts: { file: string; name: WheelName }): Promise<{ bytes: Buffer } | { reason: string }> {
  const wanted = `${opts.name.distribution}-${opts.name.version}.dist-info/METADATA`;
  return new Promise((resolve) => {
    yauzl.open(opts.file, { lazyEntries: true, autoClose: true }, (e, zip) => {
      if (e) return resolve({ reason: `not a readable zip: ${e.message}` });
      const candidates: string[] = [];
      let done = false;
      const finish = (r: { bytes: Buffer } | { reason: string }) => {
        if (done) return;
        done = true;
        zip.close();
        resolve(r);
      };
      zip.on('error', (ze: Error) => finish({ reason: `not a readable zip: ${ze.message}` }));
      zip.on('end', () => {
        if (done) return;
        finish({ reason: candidates.length ? `it has ${candidates.join(', ')} but not ${wanted} as the file name says` : 'it has no *.dist-info/METADATA' });
      });
      zip.on('entry', (entry: yauzl.Entry) => {
        const n = entry.fileName;
        if (!/^[^/]+\.dist-info\/METADATA$/.test(n)) return zip.readEntry();
        // The dist-info directory may use the unnormalised name (MarkupSafe-2.1.2.dist-info).
        if (normalizeDistInfo(n) !== normalizeDistInfo(wanted)) {
          candidates.push(n);
          return zip.readEntry();
        }
        if (entry.uncompressedSize > MAX_METADATA) return finish({ reason: `${n} is ${entry.uncompressedSize} bytes, more than any METADATA should be` });
        zip.openReadStream(entry, (se, stream) => {
          if (se) return finish({ reason: `cannot read ${n}: ${se.message}` });
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', (re: Error) => finish({ reason: `cannot read ${n}: ${re.message}` }));
          stream.on('end', () => finish({ bytes: Buffer.concat(chunks) }));
        });
      });
      zip.readEntry();
    });
  });
}

/** `Foo_Bar-1.0.dist-info/METADATA` and `foo.bar-1.0.dist-info/METADATA` are the same file. */
function normalizeDistInfo(p: string): string {
  const dir = p.slice(0, p.indexOf('.dist-info/'));
  const dash = dir.lastIndexOf('-');
  return `${normalizeName(dir.slice(0, dash))}-${dir.slice(dash + 1).toLowerCase()}`;
}
