import type { WeldError } from '../../core/errors.js';
import { err, ok, type Result } from '../../core/result.js';
import { UpstreamUnreachableError } from '../../mirror/errors.js';
import { normalizeName } from '../../metadata/names.js';
import type { Candidate, ProjectSource, SourceOffer } from '../candidate.js';
import { SimpleIndexError } from '../errors.js';
import { fetchBytes, fetchText } from '../fetch.js';
import { validVersion } from '../pep508.js';

// A PEP 503 (HTML) / PEP 691 (JSON) simple repository: PyPI out in the world, a
// loopback index in tests. Only sdists are offered: weld builds wheels itself.

const ACCEPT = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01';
// PEP 625 names .tar.gz; older sdists on PyPI are also .tar.bz2, .tar.xz or .tgz (all read by sniffing)
const SDIST = /\.(tar\.gz|tar\.bz2|tar\.xz|tgz)$/;

interface IndexFile {
  filename: string;
  url: string;
  sha256?: string;
  requiresPython?: string;
  yanked: boolean;
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|lt|gt|amp|quot|apos|#39);/gi, (_, e: string) => {
    const l = e.toLowerCase();
    if (l.startsWith('#x')) return String.fromCodePoint(parseInt(l.slice(2), 16));
    if (l.startsWith('#')) return String.fromCodePoint(Number(l.slice(1)));
    return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[l] ?? '';
  });
}

/** PEP 503's page: one `<a>` per file, the hash in the URL fragment. */
function parseHtml(html: string): IndexFile[] {
  const out: IndexFile[] = [];
  for (const m of html.matchAll(/<a\s([^>]*)>([^<]*)<\/a>/gi)) {
    const attrs = new Map<string, string>();
    for (const a of m[1]!.matchAll(/([a-z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/gi)) attrs.set(a[1]!.toLowerCase(), decodeEntities(a[2] ?? a[3] ?? a[4] ?? ''));
    const href = attrs.get('href');
    if (!href) continue;
    const [url, fragment] = href.split('#', 2) as [string, string | undefined];
    const hash = /^sha256=([0-9a-f]{64})$/i.exec(fragment ?? '');
    out.push({
      filename: decodeEntities(m[2]!.trim()),
      url,
      ...(hash ? { sha256: hash[1]!.toLowerCase() } : {}),
      ...(attrs.get('data-requires-python') ? { requiresPython: attrs.get('data-requires-python')! } : {}),
      yanked: attrs.has('data-yanked'),
    });
  }
  return out;
}

/** PEP 691's JSON: `files[]` with `hashes`, `requires-python` and `yanked`. */
function parseJson(text: string): IndexFile[] | string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e: unknown) {
    return `not JSON: ${(e as Error).message}`;
  }
  const files = (doc as { files?: unknown }).files;
  if (!Array.isArray(files)) return 'no "files" array';
  const out: IndexFile[] = [];
  for (const f of files as Array<Record<string, unknown>>) {
    if (typeof f !== 'object' || f === null || typeof f['filename'] !== 'string' || typeof f['url'] !== 'string') continue;
    const sha = (f['hashes'] as Record<string, unknown> | undefined)?.['sha256'];
    const rp = f['requires-python'];
    out.push({
      filename: f['filename'],
      url: f['url'],
      ...(typeof sha === 'string' && /^[0-9a-f]{64}$/i.test(sha) ? { sha256: sha.toLowerCase() } : {}),
      ...(typeof rp === 'string' && rp ? { requiresPython: rp } : {}),
      yanked: f['yanked'] !== undefined && f['yanked'] !== false,
    });
  }
  return out;
}

/** The version in `<name>-<version>.tar.gz` when `<name>` is the project `key`. */
export function sdistVersion(filename: string, key: string): string | undefined {
  const stem = filename.replace(SDIST, '');
  for (let i = stem.indexOf('-'); i > 0; i = stem.indexOf('-', i + 1)) {
    if (normalizeName(stem.slice(0, i)) === key) return stem.slice(i + 1);
  }
  return undefined;
}

export class SimpleIndexSource implements ProjectSource {
  readonly name: string;
  private readonly base: string;

  constructor(opts: { url: string }) {
    this.base = opts.url.replace(/\/+$/, '');
    this.name = `index ${this.base}`;
  }

  async offer(key: string): Promise<Result<SourceOffer, WeldError>> {
    const pageUrl = `${this.base}/${key}/`;
    const page = await fetchText({ url: pageUrl, accept: ACCEPT });
    if (!page.ok) {
      // a project the index does not have is an answer, not a failure
      if (page.error instanceof UpstreamUnreachableError && /^HTTP 404\b/.test(page.error.cause_)) return ok({ name: this.name, candidates: [], skipped: [] });
      return page;
    }
    const json = page.value.contentType.includes('application/vnd.pypi.simple.v1+json');
    const files = json ? parseJson(page.value.text) : parseHtml(page.value.text);
    if (typeof files === 'string') return err(new SimpleIndexError(`${pageUrl}: not a PEP 691 page: ${files}`, 'is --index-url the simple index root (…/simple)?'));
    const candidates: Candidate[] = [];
    const skipped: string[] = [];
    for (const f of files) {
      if (/\.zip$/.test(f.filename)) {
        skipped.push(`${f.filename}: a .zip sdist, which weld does not read`);
        continue;
      }
      if (!SDIST.test(f.filename)) continue; // wheels, eggs, installers
      const version = sdistVersion(f.filename, key);
      if (!version || !validVersion(version)) {
        skipped.push(`${f.filename}: not <name>-<PEP 440 version>.tar.gz for ${key}`);
        continue;
      }
      let url: URL;
      try {
        url = new URL(f.url, page.value.url);
      } catch {
        skipped.push(`${f.filename}: its URL "${f.url.slice(0, 80)}" is not one`);
        continue;
      }
      // a page must not send weld to read local files, or elsewhere than the web
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        skipped.push(`${f.filename}: its URL is ${url.protocol}, not http(s)`);
        continue;
      }
      if (!f.sha256) {
        skipped.push(`${f.filename}: the index gives no sha256 for it`);
        continue;
      }
      url.hash = '';
      candidates.push({
        version,
        sha256: f.sha256,
        origin: { kind: 'index', url: url.href, filename: f.filename },
        ...(f.requiresPython ? { requiresPython: f.requiresPython } : {}),
        ...(f.yanked ? { yanked: true } : {}),
      });
    }
    return ok({ name: this.name, candidates, skipped });
  }

  async fetch(c: Candidate): Promise<Result<Buffer, WeldError>> {
    if (c.origin.kind !== 'index') throw new Error('bug: an index source asked for a Debian candidate');
    const got = await fetchBytes({ url: c.origin.url, sha256: c.sha256 });
    return got.ok ? ok(got.value.bytes) : got;
  }
}
