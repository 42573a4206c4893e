import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

export interface FakeSource {
  package: string;
  version: string;
  files: Array<{ name: string; content: Buffer }>;
  /** binary packages (default python3-<package>) */
  binaries?: string[];
  buildDepends?: string;
  homepage?: string;
}

/**
 * Writes a Debian archive layout: pool/main/<x>/<pkg>/<files> and
 * dists/<suite>/<component>/source/Sources.{xz|gz} listing them with sha256 and size.
 */
export function writeDebianArchive(root: string, opts: { suite: string; component?: string; sources: FakeSource[]; compress?: 'xz' | 'gz' }): void {
  const component = opts.component ?? 'main';
  const stanzas: string[] = [];
  for (const s of opts.sources) {
    const prefix = s.package.startsWith('lib') ? s.package.slice(0, 4) : s.package[0]!;
    const dir = `pool/${component}/${prefix}/${s.package}`;
    mkdirSync(path.join(root, dir), { recursive: true });
    const sums: string[] = [];
    for (const f of s.files) {
      writeFileSync(path.join(root, dir, f.name), f.content);
      sums.push(` ${createHash('sha256').update(f.content).digest('hex')} ${f.content.length} ${f.name}`);
    }
    stanzas.push(
      [
        `Package: ${s.package}`,
        `Binary: ${(s.binaries ?? [`python3-${s.package}`]).join(', ')}`,
        `Version: ${s.version}`,
        'Maintainer: Test <test@example.org>',
        ...(s.buildDepends ? [`Build-Depends: ${s.buildDepends}`] : []),
        'Architecture: all',
        `Directory: ${dir}`,
        'Checksums-Sha256:',
        ...sums,
        ...(s.homepage ? [`Homepage: ${s.homepage}`] : []),
        'Section: python',
      ].join('\n'),
    );
  }
  const text = Buffer.from(stanzas.join('\n\n') + '\n');
  const out = path.join(root, 'dists', opts.suite, component, 'source');
  mkdirSync(out, { recursive: true });
  if ((opts.compress ?? 'xz') === 'xz') writeFileSync(path.join(out, 'Sources.xz'), execFileSync('xz', ['-c'], { input: text }));
  else writeFileSync(path.join(out, 'Sources.gz'), gzipSync(text));
}
