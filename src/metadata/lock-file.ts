import { clip, quote } from '../core/diagnostics.js';
import TOML from '@iarna/toml';
import { isFullCommitId } from './names.js';
import type { Problem } from './schema.js';
import { isTable, tomlTypeName, type TomlTable } from './toml.js';

// metadata/weld.lock: written by `weld mirror`, read by builds. One table per package:
// the digest of the inputs it was mirrored from, and the commits and tree that came out.

export interface LockEntry {
  /** sha256 of the package's upstream spec, version, release and patches when mirrored */
  inputs: string;
  /** the upstream commit (tagged upstream/<version>) */
  upstream: string;
  /** the distro commit (tagged distro/<version>-<release>) */
  distro: string;
  /** the distro commit's tree: what builds use as their source */
  tree: string;
}

const FIELDS: Array<keyof LockEntry> = ['inputs', 'upstream', 'distro', 'tree'];

export function checkLock(doc: TomlTable, problems: Problem[]): Record<string, LockEntry> {
  const out: Record<string, LockEntry> = {};
  for (const [pkg, value] of Object.entries(doc)) {
    if (!isTable(value)) {
      problems.push({ path: [pkg], anchor: 'key', message: `${quote(pkg)} must be a table of a package's lock, not ${tomlTypeName(value)}; rerun \`weld mirror\`` });
      continue;
    }
    let good = true;
    for (const key of Object.keys(value)) {
      if (!(FIELDS as string[]).includes(key)) {
        problems.push({ path: [pkg, key], anchor: 'key', message: `unknown key ${quote(key)} in [${clip(pkg)}]; valid keys: ${FIELDS.join(', ')}` });
        good = false;
      }
    }
    for (const key of FIELDS) {
      const v = value[key];
      const valid = typeof v === 'string' && (key === 'inputs' ? /^sha256:[0-9a-f]{64}$/.test(v) : isFullCommitId(v));
      if (!valid) {
        problems.push({
          path: v === undefined ? [pkg] : [pkg, key],
          anchor: v === undefined ? 'table' : 'value',
          message: v === undefined ? `missing key ${quote(key)} in [${clip(pkg)}]; rerun \`weld mirror ${clip(pkg)}\`` : `${quote(key)} in [${clip(pkg)}] is not ${key === 'inputs' ? 'a sha256: digest' : 'a full object id'}; rerun \`weld mirror ${clip(pkg)}\``,
        });
        good = false;
      }
    }
    if (good) out[pkg] = value as unknown as LockEntry;
  }
  return out;
}

/** Sorted by package, fixed key order: one short, stable hunk per package in a diff. */
export function formatLock(entries: Record<string, LockEntry>): string {
  const sorted: Record<string, Record<string, string>> = {};
  for (const pkg of Object.keys(entries).sort()) {
    const e = entries[pkg]!;
    sorted[pkg] = Object.fromEntries(FIELDS.map((k) => [k, e[k]]));
  }
  return '# Written by `weld mirror`: the sources builds use. Do not edit.\n\n' + TOML.stringify(sorted as TOML.JsonMap);
}
