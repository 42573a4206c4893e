import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

// The Debian archive is whatever this host's apt uses (or WELD_DEBIAN_MIRROR), so
// no host name is ever written into committed metadata.

export interface AptEntry {
  types: string[];
  uri: string;
  suites: string[];
  components: string[];
}

/** One-line format: `deb [options] uri suite [component…]`. */
function parseList(text: string): AptEntry[] {
  const out: AptEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^(deb|deb-src)\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)(.*)$/.exec(line);
    if (m) out.push({ types: [m[1]!], uri: m[2]!, suites: [m[3]!], components: m[4]!.trim().split(/\s+/).filter(Boolean) });
  }
  return out;
}

/** deb822 format (`*.sources`): stanzas of `Key: value` fields. */
function parseDeb822(text: string): AptEntry[] {
  const out: AptEntry[] = [];
  for (const stanza of text.replace(/^#.*(\n|$)/gm, '').split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last = '';
    for (const line of stanza.split('\n')) {
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m) fields.set((last = m[1]!.toLowerCase()), m[2]!);
      else if (/^\s/.test(line) && last) fields.set(last, `${fields.get(last)} ${line.trim()}`);
    }
    if (!fields.has('uris') || fields.get('enabled')?.toLowerCase() === 'no') continue;
    const words = (k: string) => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    for (const uri of words('uris')) out.push({ types: words('types'), uri, suites: words('suites'), components: words('components') });
  }
  return out;
}

export function readAptSources(aptDir = '/etc/apt'): AptEntry[] {
  const entries: AptEntry[] = [];
  const read = (f: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return undefined;
    }
  };
  const main = read(path.join(aptDir, 'sources.list'));
  if (main) entries.push(...parseList(main));
  let names: string[] = [];
  try {
    names = readdirSync(path.join(aptDir, 'sources.list.d')).sort();
  } catch {
    /* no drop-in directory */
  }
  for (const n of names) {
    const text = read(path.join(aptDir, 'sources.list.d', n));
    if (!text) continue;
    if (n.endsWith('.list')) entries.push(...parseList(text));
    else if (n.endsWith('.sources')) entries.push(...parseDeb822(text));
  }
  return entries;
}

/**
 * The archive base URL for a suite: WELD_DEBIAN_MIRROR, else the first apt entry serving
 * it, else — with `anyRelease`, for a package's source from a newer suite than the host
 * runs — the first entry of the main archive (a path ending in /debian), which carries
 * every release. Envs do not fall back: a partial mirror would answer 404 instead.
 */
export function debianMirrorFor(opts: { suite: string; env?: NodeJS.ProcessEnv; aptDir?: string; anyRelease?: boolean }): string | undefined {
  const forced = opts.env?.['WELD_DEBIAN_MIRROR'];
  if (forced) return forced.replace(/\/+$/, '');
  const entries = readAptSources(opts.aptDir).filter((e) => e.types.includes('deb') || e.types.includes('deb-src'));
  const hit = entries.find((e) => e.suites.includes(opts.suite)) ?? (opts.anyRelease ? entries.find((e) => /\/debian\/*$/.test(e.uri)) : undefined);
  return hit?.uri.replace(/\/+$/, '');
}
