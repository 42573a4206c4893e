import { StringDecoder } from 'node:string_decoder';
import { decompressStream } from '../../archive/decompress-stream.js';
import { err, ok, type Result } from '../../core/result.js';
import { UpstreamUnreachableError } from '../errors.js';
import { openUrl } from '../http.js';
import { splitPath } from '../tarball/paths.js';

/** One source package stanza of a suite's `Sources` index, the fields weld needs. */
export interface SourceEntry {
  package: string;
  version: string;
  directory: string;
  files: Array<{ name: string; sha256: string; size: number }>;
  /** the binary packages built from it (`Binary:`) */
  binaries: string[];
  /** `Build-Depends:` (and `-Arch`, `-Indep`), as written, joined with ", " */
  buildDepends: string;
  homepage?: string;
}

/** A stanza's fields, in one pass (a suite's index has tens of thousands): first line, then continuation lines. */
function fieldsOf(text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  let last: string[] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith(' ') || line.startsWith('\t')) {
      last?.push(line.trim());
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      last = undefined;
      continue;
    }
    const key = line.slice(0, colon);
    // the first of a repeated field counts, as the regular expressions this replaced had it
    if (fields.has(key)) {
      last = undefined;
      continue;
    }
    last = [line.slice(colon + 1).trim()];
    fields.set(key, last);
  }
  return fields;
}

function parseStanza(text: string): SourceEntry | undefined {
  const f = fieldsOf(text);
  const first = (k: string) => f.get(k)?.[0] || undefined;
  /** the whole value, continuation lines joined with a space */
  const joined = (k: string) => f.get(k)?.filter(Boolean).join(' ') || undefined;
  const pkg = first('Package');
  const version = first('Version');
  const directory = first('Directory');
  if (!pkg || !version || !directory) return undefined;
  const binaries = (joined('Binary') ?? '').split(/[\s,]+/).filter(Boolean);
  const buildDepends = ['Build-Depends', 'Build-Depends-Arch', 'Build-Depends-Indep'].map(joined).filter((v): v is string => !!v).join(', ');
  const homepage = first('Homepage');
  const files = (f.get('Checksums-Sha256') ?? [])
    .slice(1)
    .map((l) => l.split(/\s+/))
    .filter((w) => w.length === 3 && /^[0-9a-f]{64}$/.test(w[0]!))
    .map(([sha256, size, name]) => ({ name: name!, sha256: sha256!, size: Number(size) }));
  return { package: pkg, version, directory, files, binaries, buildDepends, ...(homepage ? { homepage } : {}) };
}

/**
 * Reads `dists/<suite>/<component>/source/Sources.{xz,gz}` from the archive and keeps
 * the stanzas of the wanted source packages, or every stanza without `wanted` (`weld
 * import` maps binary packages to sources); streamed: the index is tens of MB.
 */
export async function fetchSourcesIndex(opts: { base: string; suite: string; component: string; wanted?: Set<string> }): Promise<Result<Map<string, SourceEntry[]>, UpstreamUnreachableError>> {
  const dir = `${opts.base}/dists/${opts.suite}/${opts.component}/source`;
  let body: AsyncGenerator<Buffer, void, undefined> | undefined;
  let lastError: UpstreamUnreachableError | undefined;
  for (const [name, compression] of [
    ['Sources.xz', 'xz'],
    ['Sources.gz', 'gzip'],
  ] as const) {
    const url = `${dir}/${name}`;
    const opened = await openUrl(url);
    if (opened.ok) {
      body = decompressStream({ input: opened.value.body, compression });
      break;
    }
    lastError = opened.error;
    // the host is down or silent: the .gz next to it will not be better
    if (!/^(HTTP |no such file)/.test(opened.error.cause_)) break;
  }
  if (!body) return err(lastError!);
  const found = new Map<string, SourceEntry[]>();
  let rest = '';
  const decoder = new StringDecoder('utf8');
  const take = (stanza: string) => {
    const name = /^Package: *(\S+)/m.exec(stanza)?.[1];
    if (!name || (opts.wanted && !opts.wanted.has(name))) return;
    const entry = parseStanza(stanza);
    if (entry) found.set(name, [...(found.get(name) ?? []), entry]);
  };
  try {
    for await (const chunk of body) {
      rest += decoder.write(chunk);
      const parts = rest.split('\n\n');
      rest = parts.pop() ?? '';
      for (const p of parts) take(p);
    }
    take(rest + decoder.end());
  } catch (e: unknown) {
    return err(new UpstreamUnreachableError(`${dir}/Sources`, `the index is corrupt or was cut off: ${(e as Error).message}`));
  }
  return ok(found);
}

/**
 * What is wrong with the paths of a stanza, if anything: weld joins `Directory:` and
 * the file names onto the archive root, so each must stay below it (with a file://
 * archive, `..` would read any file on the host).
 */
export function unsafeEntryPath(entry: SourceEntry): { field: string; value: string; why: string } | undefined {
  // These are joined into URLs, which decode %2e%2e to `..` and cut at ? and #; Debian's
  // pool paths never hold them.
  const urlish = /[%?#]/;
  if (urlish.test(entry.directory)) return { field: 'Directory', value: entry.directory, why: 'holds %, ? or #, which a URL would decode or cut' };
  const bad = entry.files.find((f) => urlish.test(f.name));
  if (bad) return { field: 'Checksums-Sha256', value: bad.name, why: 'names a file with %, ? or #, which a URL would decode or cut' };
  const dir = splitPath(entry.directory);
  if (!dir.ok) return { field: 'Directory', value: entry.directory, why: dir.why };
  if (dir.components.length === 0) return { field: 'Directory', value: entry.directory, why: 'names the archive root itself' };
  for (const f of entry.files) {
    const name = splitPath(f.name);
    if (!name.ok) return { field: 'Checksums-Sha256', value: f.name, why: `names a file that ${name.why}` };
    if (name.components.length !== 1 || name.components[0] !== f.name) return { field: 'Checksums-Sha256', value: f.name, why: 'names a file with a directory part; a file name is all it may hold' };
  }
  return undefined;
}

/** Debian version → upstream version: without epoch and Debian revision. */
export function upstreamVersion(debianVersion: string): string {
  return debianVersion.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
}
