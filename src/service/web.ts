import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';

// The web dashboard's files (built by Vite into dist/web at `npm ci`), served by the
// service itself at `/`. The bundle is a handful of files: they are read once at start,
// with their digest as ETag and a gzip copy of the text ones. Hashed assets never change
// under their name (a year, immutable); index.html is revalidated every time. A path
// that is not a file is a client-side route and gets index.html, except under the API.

/** dist/web beside the compiled server (dist/src/service/web.js), or of the checkout when run from src/ (the tests) */
export const DEFAULT_WEB_DIR = ((): string => {
  const up2 = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  return path.basename(up2) === 'dist' ? path.join(up2, 'web') : path.join(up2, 'dist/web');
})();

interface WebFile {
  body: Buffer;
  gzip?: Buffer;
  type: string;
  etag: string;
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Vite names an asset <name>-<8+ chars of hash>.<ext> under assets/. */
const HASHED = /^assets\/.+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

/** The page's own rules: only its own scripts, styles and API; never framed. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/** Paths the dashboard never answers: an unknown one there is the API's 404. */
const NOT_PAGES = ['/api/', '/wheelhouses/', '/metrics', '/healthz'];

export class WebBundle {
  private constructor(
    private readonly files: Map<string, WebFile>,
    readonly dir: string,
  ) {}

  /** Reads the bundle; undefined when it was never built (then `/` says how to build it). */
  static load(dir: string = DEFAULT_WEB_DIR): WebBundle | undefined {
    if (!existsSync(path.join(dir, 'index.html'))) return undefined;
    const files = new Map<string, WebFile>();
    for (const rel of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
      const full = path.join(dir, rel);
      let body: Buffer;
      try {
        body = readFileSync(full);
      } catch {
        continue; // a directory
      }
      const key = rel.split(path.sep).join('/');
      const type = TYPES[path.extname(key)] ?? 'application/octet-stream';
      const text = /^(text\/|application\/json|image\/svg)/.test(type);
      const gz = text && body.length > 512 ? gzipSync(body, { level: 9 }) : undefined;
      files.set(key, {
        body,
        ...(gz && gz.length < body.length ? { gzip: gz } : {}),
        type,
        etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`,
        immutable: HASHED.test(key),
      });
    }
    return new WebBundle(files, dir);
  }

  /** Whether the dashboard answers this request (a GET or HEAD of a page or a file). */
  static wants(req: FastifyRequest): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const p = req.url.split('?')[0] ?? '/';
    return !NOT_PAGES.some((n) => p === n.replace(/\/$/, '') || p.startsWith(n));
  }

  send(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    let p: string;
    try {
      p = decodeURIComponent((req.url.split('?')[0] ?? '/').replace(/^\/+/, ''));
    } catch {
      p = '';
    }
    let file = p.includes('..') || p.includes('\0') ? undefined : this.files.get(p);
    if (!file) {
      // A missing asset is a 404, not the page: a stale tab asking for an old chunk must see it fail.
      if (p.startsWith('assets/')) return reply.code(404).type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(`no file /${p} in this dashboard (reload the page: the server was upgraded)\n`);
      file = this.files.get('index.html')!;
    }
    reply.header('etag', file.etag).header('x-content-type-options', 'nosniff').header('vary', 'accept-encoding');
    reply.header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (file.type.startsWith('text/html')) reply.header('content-security-policy', CSP).header('referrer-policy', 'no-referrer').header('x-frame-options', 'DENY');
    const inm = req.headers['if-none-match'];
    if (inm && inm.split(',').some((t) => t.trim() === file.etag)) return reply.code(304).send();
    const gzip = file.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    reply.type(file.type);
    if (gzip) reply.header('content-encoding', 'gzip');
    const body = gzip ? file.gzip! : file.body;
    reply.header('content-length', String(body.length));
    return reply.send(req.method === 'HEAD' ? undefined : body);
  }
}
