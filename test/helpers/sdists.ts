import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { entry, tar } from './tar.js';

// Real sdists (tar.gz with PKG-INFO and pyproject.toml) and a real PEP 503/691 simple
// index serving them on loopback, for `weld import`'s tests and benchmark.

export interface SdistSpec {
  name: string;
  version: string;
  summary?: string;
  license?: string;
  homepage?: string;
  requires?: string[];
  requiresPython?: string;
  /** [build-system] build-backend (default setuptools.build_meta) */
  backend?: string;
  /** top-level packages (default: the name with - → _) */
  packages?: string[];
  /** more files, path below the top directory → content */
  extra?: Record<string, string>;
  /** leave PKG-INFO out (a tree made from a git tag, as many Debian .origs are) */
  noPkgInfo?: boolean;
}

export function pkgInfo(s: SdistSpec): string {
  return (
    [
      'Metadata-Version: 2.1',
      `Name: ${s.name}`,
      `Version: ${s.version}`,
      ...(s.summary ? [`Summary: ${s.summary}`] : []),
      ...(s.homepage ? [`Home-page: ${s.homepage}`] : []),
      ...(s.license ? [`License: ${s.license}`] : []),
      ...(s.requiresPython ? [`Requires-Python: ${s.requiresPython}`] : []),
      ...(s.requires ?? []).map((r) => `Requires-Dist: ${r}`),
      '',
      'The long description, which is not a header.',
    ].join('\n') + '\n'
  );
}

/** A gzipped sdist `<name>-<version>.tar.gz` with its single top directory. */
export function makeSdist(s: SdistSpec, opts: { top?: string } = {}): Buffer {
  const top = opts.top ?? `${s.name.replace(/-/g, '_')}-${s.version}`;
  const pkgs = s.packages ?? [s.name.replace(/[-.]/g, '_').toLowerCase()];
  const files: Record<string, string> = {
    ...(s.noPkgInfo ? {} : { 'PKG-INFO': pkgInfo(s) }),
    'pyproject.toml': `[build-system]\nrequires = ["setuptools"]\nbuild-backend = ${JSON.stringify(s.backend ?? 'setuptools.build_meta')}\n\n[project]\nname = ${JSON.stringify(s.name)}\nversion = ${JSON.stringify(s.version)}\n`,
    'setup.py': 'from setuptools import setup\nsetup()\n',
    'tests/__init__.py': '',
    'tests/test_it.py': 'def test(): pass\n',
    ...Object.fromEntries(pkgs.map((p) => [`${p}/__init__.py`, `__version__ = ${JSON.stringify(s.version)}\n`])),
    ...(s.extra ?? {}),
  };
  const entries = [entry({ name: `${top}/`, type: '5', mode: 0o755 })];
  for (const [p, content] of Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))) entries.push(entry({ name: `${top}/${p}`, data: content }));
  // a fixed gzip header time: the same spec gives the same bytes
  return gzipSync(tar(...entries));
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export interface IndexProject {
  /** PEP 503-normalised */
  key: string;
  files: Array<{ filename: string; bytes: Buffer; requiresPython?: string; yanked?: boolean; /** the hash the index claims, when it lies */ claimedSha256?: string }>;
}

export interface SimpleIndex {
  url: string;
  requests: string[];
  /** serves these projects from now on */
  set(projects: IndexProject[]): void;
  close(): Promise<void>;
}

/**
 * A simple index: `/simple/<key>/` as PEP 691 JSON when asked for it (else PEP 503
 * HTML), files at `/files/<filename>`. `format` forces one answer.
 */
export async function simpleIndex(opts: { projects: IndexProject[]; format?: 'json' | 'html' }): Promise<SimpleIndex> {
  let projects = new Map(opts.projects.map((p) => [p.key, p]));
  const files = new Map<string, Buffer>();
  const index = () => {
    files.clear();
    for (const p of projects.values()) for (const f of p.files) files.set(f.filename, f.bytes);
  };
  index();
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    requests.push(u.pathname);
    const page = /^\/simple\/([^/]+)\/$/.exec(u.pathname);
    if (page) {
      const p = projects.get(page[1]!);
      if (!p) return void res.writeHead(404).end('no such project');
      const wantsJson = opts.format ? opts.format === 'json' : (req.headers.accept ?? '').includes('application/vnd.pypi.simple.v1+json');
      if (wantsJson) {
        const body = JSON.stringify({
          meta: { 'api-version': '1.1' },
          name: p.key,
          files: p.files.map((f) => ({ filename: f.filename, url: `../../files/${f.filename}`, hashes: { sha256: f.claimedSha256 ?? sha256(f.bytes) }, ...(f.requiresPython ? { 'requires-python': f.requiresPython } : {}), ...(f.yanked ? { yanked: true } : {}) })),
        });
        return void res.writeHead(200, { 'content-type': 'application/vnd.pypi.simple.v1+json' }).end(body);
      }
      const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
      const links = p.files.map(
        (f) => `<a href="/files/${f.filename}#sha256=${f.claimedSha256 ?? sha256(f.bytes)}"${f.requiresPython ? ` data-requires-python="${esc(f.requiresPython)}"` : ''}${f.yanked ? ' data-yanked=""' : ''}>${f.filename}</a><br/>`,
      );
      return void res.writeHead(200, { 'content-type': 'text/html' }).end(`<!DOCTYPE html><html><body><h1>Links for ${p.key}</h1>\n${links.join('\n')}\n</body></html>`);
    }
    const file = /^\/files\/([^/]+)$/.exec(u.pathname);
    const bytes = file ? files.get(file[1]!) : undefined;
    if (!bytes) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-length': bytes.length }).end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/simple`,
    requests,
    set: (ps) => {
      projects = new Map(ps.map((p) => [p.key, p]));
      index();
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An index project of one or more sdists. */
export function project(...specs: SdistSpec[]): IndexProject {
  const key = specs[0]!.name.replace(/[-_.]+/g, '-').toLowerCase();
  return { key, files: specs.map((s) => ({ filename: `${s.name.replace(/-/g, '_')}-${s.version}.tar.gz`, bytes: makeSdist(s), ...(s.requiresPython ? { requiresPython: s.requiresPython } : {}) })) };
}
