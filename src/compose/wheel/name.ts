import { normalizeName } from '../../metadata/names.js';

// Wheel file names (PEP 427) and the dist-info directory they promise: what the
// wheelhouse indexes by and what the image installer checks a wheel against.

/** A wheel file name split by PEP 427: {dist}-{version}(-{build})?-{python}-{abi}-{platform}.whl */
export interface WheelName {
  distribution: string;
  version: string;
  build?: string;
  /** `{python}-{abi}-{platform}`, each part possibly a `.`-separated set */
  tags: string;
}

export function parseWheelName(file: string): WheelName | undefined {
  if (!file.endsWith('.whl') || file.includes('/')) return undefined;
  const parts = file.slice(0, -4).split('-');
  if (parts.length !== 5 && parts.length !== 6) return undefined;
  if (parts.some((p) => p === '')) return undefined;
  const [distribution, version] = parts as [string, string];
  // PEP 427 escapes a name to letters, digits, `_` and `.`; `.`/`..` would be path components.
  if (!/^[A-Za-z0-9_.]+$/.test(distribution) || /^\.+$/.test(distribution)) return undefined;
  const tags = parts.slice(-3).join('-');
  return { distribution, version, tags, ...(parts.length === 6 ? { build: parts[2]! } : {}) };
}

/** The python, abi and platform tag sets (`cp311.cp312` is two python tags). */
export function wheelTags(name: WheelName): { python: string[]; abi: string[]; platform: string[] } {
  const [python, abi, platform] = name.tags.split('-').map((t) => t.split('.')) as [string[], string[], string[]];
  return { python, abi, platform };
}

/**
 * Whether `dir` (`<dist>-<version>.dist-info` as spelled inside the wheel) belongs to the
 * wheel named `name`: tools write the unnormalised name (MarkupSafe-2.1.2.dist-info)
 * or escape it (foo_bar-1.0.dist-info), so both sides are normalised.
 */
export function isDistInfoOf(dir: string, name: WheelName): boolean {
  if (!dir.endsWith('.dist-info')) return false;
  const stem = dir.slice(0, -'.dist-info'.length);
  const dash = stem.lastIndexOf('-');
  return dash > 0 && distKey(stem.slice(0, dash), stem.slice(dash + 1)) === distKey(name.distribution, name.version);
}

const distKey = (dist: string, version: string) => `${normalizeName(dist)}-${version.replace(/[-_.]+/g, '_').toLowerCase()}`;
