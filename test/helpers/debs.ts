import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { LockedDeb } from '../../src/metadata/model.js';

export interface DebFile {
  path: string;
  content?: string | Buffer;
  mode?: number;
  symlink?: string;
  /** a hardlink to this other path of the same package */
  hardlink?: string;
}

/**
 * A real .deb built by `dpkg-deb --build` from a staged tree; returns its bytes, as a
 * lock entry would describe it under `pool/main/<n>/<name>/`.
 */
export function buildDeb(opts: { dir: string; name: string; version?: string; arch?: string; files: DebFile[]; compression?: 'xz' | 'gzip' | 'zstd' | 'none' }): { bytes: Buffer; locked: LockedDeb } {
  const version = opts.version ?? '1.0-1';
  const arch = opts.arch ?? 's390x';
  const stage = path.join(opts.dir, `${opts.name}-stage`);
  mkdirSync(path.join(stage, 'DEBIAN'), { recursive: true });
  writeFileSync(path.join(stage, 'DEBIAN/control'), `Package: ${opts.name}\nVersion: ${version}\nArchitecture: ${arch}\nMaintainer: weld tests <t@example.org>\nDescription: test package\n`);
  for (const f of opts.files) {
    const p = path.join(stage, f.path);
    mkdirSync(path.dirname(p), { recursive: true });
    if (f.symlink) symlinkSync(f.symlink, p);
    else if (f.hardlink) linkSync(path.join(stage, f.hardlink), p);
    else {
      writeFileSync(p, f.content ?? '');
      chmodSync(p, f.mode ?? 0o644);
    }
  }
  const out = path.join(opts.dir, `${opts.name}_${version}_${arch}.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', `-Z${opts.compression ?? 'xz'}`, '--build', stage, out], { stdio: 'pipe' });
  const bytes = readFileSync(out);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { bytes, locked: { name: opts.name, version, arch, path: `pool/main/${opts.name[0]}/${opts.name}/${path.basename(out)}`, sha256, size: bytes.length } };
}

/** An ar archive from members, for .debs dpkg-deb would refuse to build. */
export function arArchive(members: Array<{ name: string; data: Buffer }>): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n')];
  for (const m of members) {
    const h = `${m.name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(m.data.length).padEnd(10)}\`\n`;
    parts.push(Buffer.from(h, 'latin1'), m.data);
    if (m.data.length % 2) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}
