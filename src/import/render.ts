// Package files as `weld import` writes them: the layout of the hand-written ones in
// metadata/packages/, keys in a fixed order, lists sorted, and a comment saying where the
// file was imported from. Same input, same bytes.

/** A TOML basic string: quotes, backslashes and every control character escaped. */
export function tomlString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function list(xs: string[]): string {
  return `[${xs.map(tomlString).join(', ')}]`;
}

export interface PackageFileSpec {
  /** first comment lines, without "# " */
  comments: string[];
  name: string;
  version: string;
  kind: 'wheel' | 'pack';
  summary?: string;
  license?: string;
  homepage?: string;
  upstream: { kind: 'debian'; source: string; suite?: string } | { kind: 'tarball'; url: string; sha256: string };
  recipe: string;
  /** kept from the distro's file on --update when the version stays */
  release?: number;
  env?: string;
  vars?: Record<string, string>;
  repair?: string;
  buildRequires: string[];
  runtimeRequires: string[];
  imports: string[];
}

export function renderPackageFile(p: PackageFileSpec): string {
  const lines: string[] = p.comments.map((c) => `# ${c.replace(/[\r\n]+/g, ' ')}`);
  lines.push('[package]', `name = ${tomlString(p.name)}`, `version = ${tomlString(p.version)}`, `release = ${p.release ?? 1}`);
  if (p.kind === 'pack') lines.push('kind = "pack"');
  if (p.summary) lines.push(`summary = ${tomlString(p.summary)}`);
  if (p.license) lines.push(`license = ${tomlString(p.license)}`);
  if (p.homepage) lines.push(`homepage = ${tomlString(p.homepage)}`);
  lines.push('', '[upstream]');
  if (p.upstream.kind === 'debian') {
    lines.push(`debian = ${tomlString(p.upstream.source)}`);
    if (p.upstream.suite) lines.push(`suite = ${tomlString(p.upstream.suite)}`);
  } else {
    lines.push(`tarball = ${tomlString(p.upstream.url)}`, `sha256 = ${tomlString(p.upstream.sha256)}`);
  }
  lines.push('', '[build]', `recipe = ${tomlString(p.recipe)}`);
  if (p.env) lines.push(`env = ${tomlString(p.env)}`);
  if (p.buildRequires.length) lines.push(`requires = ${list([...p.buildRequires].sort())}`);
  const vars = Object.entries(p.vars ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  // build var names are environment variable names: bare TOML keys
  if (vars.length) lines.push(`vars = { ${vars.map(([k, v]) => `${k} = ${tomlString(v)}`).join(', ')} }`);
  if (p.repair) lines.push(`repair = ${tomlString(p.repair)}`);
  if (p.kind === 'wheel') {
    if (p.runtimeRequires.length) lines.push('', '[runtime]', `requires = ${list([...p.runtimeRequires].sort())}`);
    if (p.imports.length) lines.push('', '[test]', `imports = ${list([...p.imports].sort())}`);
  }
  return lines.join('\n') + '\n';
}
