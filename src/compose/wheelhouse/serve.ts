import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { err, ok, type Result } from '../../core/result.js';
import { ServeError } from './errors.js';
import { JSON_TYPE } from './index-pages.js';

export type ServeEvent = { type: 'request'; method: string; path: string; status: number };

export interface Served {
  /** e.g. http://127.0.0.1:8000/ */
  url: string;
  port: number;
  close(): Promise<void>;
}

const HTML_V1 = 'application/vnd.pypi.simple.v1+html';

/**
 * Serves a wheelhouse read-only over HTTP: the simple index as HTML or, when the client's
 * Accept header prefers it, PEP 691 JSON; wheels and their .metadata files as bytes.
 * Nothing outside the directory is reachable (no `..`, no symlinks out).
 */
export async function serveWheelhouse(o: { dir: string; host?: string; port?: number; onEvent?: (e: ServeEvent) => void }): Promise<Result<Served, ServeError>> {
  const root = await realpath(o.dir).catch(() => undefined);
  if (!root || !(await stat(path.join(root, 'simple', 'index.html')).catch(() => undefined))) {
    return err(new ServeError(`${o.dir} is not a wheelhouse (no simple/index.html)`, 'compose one with `weld compose wheelhouse`, then pass its directory to --wheelhouse'));
  }
  const server = http.createServer((req, res) => {
    // Reported as the head goes out, so a client that has its answer finds the request logged.
    const head = (status: number, headers: http.OutgoingHttpHeaders) => {
      o.onEvent?.({ type: 'request', method: req.method ?? '', path: req.url ?? '', status });
      res.writeHead(status, headers);
    };
    void respond({ root, req, res, head });
  });
  const host = o.host ?? '127.0.0.1';
  const bound = await new Promise<Error | undefined>((resolve) => {
    server.once('error', resolve);
    server.listen(o.port ?? 0, host, () => resolve(undefined));
  });
  if (bound) return err(new ServeError(`cannot listen on ${host}:${o.port ?? 0}: ${bound.message}`, (bound as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'another process has that port; pick another with --port' : undefined));
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return ok({
    url: `http://${shown}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}

type Head = (status: number, headers: http.OutgoingHttpHeaders) => void;

/**
 * Answers one request for a file of the wheelhouse at `root` (its real path): what
 * `weld serve` does per request, and what the build service does under
 * `/wheelhouses/<job>/<compose>/` (`prefix`, with `url` the path below it).
 */
export function answerWheelhouseRequest(o: { root: string; req: http.IncomingMessage; res: http.ServerResponse; url: string; prefix: string }): Promise<number> {
  return respond({ ...o, head: (status, headers) => o.res.writeHead(status, headers) });
}

async function respond(o: { root: string; req: http.IncomingMessage; res: http.ServerResponse; head: Head; url?: string; prefix?: string }): Promise<number> {
  const { req, res } = o;
  const send = (status: number, text: string, headers: Record<string, string> = {}) => {
    o.head(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    res.end(req.method === 'HEAD' ? undefined : text + '\n');
    return status;
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'only GET and HEAD', { allow: 'GET, HEAD' });
  const url = new URL(o.url ?? req.url ?? '/', 'http://x');
  let rel: string;
  try {
    rel = decodeURIComponent(url.pathname);
  } catch {
    return send(400, 'bad percent-encoding in the path');
  }
  const parts = rel.split('/').filter((s) => s !== '');
  if (rel.includes('\0') || rel.includes('\\') || parts.some((s) => s === '..' || s === '.')) return send(400, 'no such path here');
  let file = path.join(o.root, ...parts);
  let st = await stat(file).catch(() => undefined);
  if (st?.isDirectory()) {
    // Relative links in the pages resolve against the directory only with the slash.
    // Built from the checked parts: `/.//simple` must not become `//simple/`, a URL of another host.
    if (!url.pathname.endsWith('/')) return send(301, 'moved', { location: `${o.prefix ?? ''}/${parts.map(encodeURIComponent).join('/')}/${url.search}` });
    const type = negotiate(req.headers.accept);
    if (!type) return send(406, `this index speaks ${JSON_TYPE}, ${HTML_V1} and text/html`);
    file = path.join(file, type === JSON_TYPE ? 'index.json' : 'index.html');
    st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) return send(404, 'not found');
    return sendFile({ res, req, head: o.head, file, root: o.root, size: st.size, type: type === JSON_TYPE ? JSON_TYPE : `${type}; charset=utf-8`, vary: true });
  }
  if (!st?.isFile()) return send(404, 'not found');
  return sendFile({ res, req, head: o.head, file, root: o.root, size: st.size, type: contentType(file) });
}

async function sendFile(o: { req: http.IncomingMessage; res: http.ServerResponse; head: Head; file: string; root: string; size: number; type: string; vary?: boolean }): Promise<number> {
  // A symlink planted inside must not lead out of the wheelhouse.
  const real = await realpath(o.file).catch(() => undefined);
  if (!real || !real.startsWith(o.root + path.sep)) {
    o.head(404, { 'content-type': 'text/plain; charset=utf-8' });
    o.res.end('not found\n');
    return 404;
  }
  o.head(200, { 'content-type': o.type, 'content-length': String(o.size), ...(o.vary ? { vary: 'Accept' } : {}) });
  if (o.req.method === 'HEAD') {
    o.res.end();
    return 200;
  }
  await new Promise<void>((resolve) => {
    const s = createReadStream(real);
    s.on('error', () => {
      o.res.destroy();
      resolve();
    });
    s.on('end', () => resolve());
    s.pipe(o.res);
  });
  return 200;
}

function contentType(file: string): string {
  if (file.endsWith('.whl')) return 'application/zip';
  if (file.endsWith('.metadata')) return 'text/plain; charset=utf-8';
  if (file.endsWith('.json')) return 'application/json';
  if (file.endsWith('.html')) return 'text/html; charset=utf-8';
  return 'application/octet-stream';
}

/**
 * The index format the Accept header asks for (PEP 691): the type with the highest q;
 * no header or any wildcard means HTML; undefined when nothing offered is acceptable.
 */
export function negotiate(accept: string | undefined): string | undefined {
  if (!accept || !accept.trim()) return 'text/html';
  const offered = [JSON_TYPE, HTML_V1, 'text/html'];
  let best: { type: string; q: number } | undefined;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const qp = params.find((p) => p.startsWith('q='));
    const q = qp ? Number(qp.slice(2)) : 1;
    if (!Number.isFinite(q) || q <= 0) continue;
    // A wildcard stands for HTML, the format every client understands.
    const type = range === '*/*' || range === 'text/*' ? 'text/html' : range === 'application/*' ? JSON_TYPE : range;
    if (!offered.includes(type)) continue;
    if (!best || q > best.q) best = { type, q };
  }
  return best?.type;
}
