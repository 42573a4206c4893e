import { parseToml, type TomlTable } from '../metadata/toml.js';
import type { SourceTree } from './source-tree.js';

// A Python source tree's core metadata, from what it carries without running any of its
// code: PKG-INFO (the sdist's, else an .egg-info's), pyproject.toml ([project] and
// [build-system]), setuptools' requires.txt and top_level.txt, and its file layout.

export interface ProjectInfo {
  name?: string;
  version?: string;
  summary?: string;
  license?: string;
  homepage?: string;
  /** PEP 508 strings */
  requiresDist: string[];
  /** where requiresDist came from, or undefined when the tree does not say */
  requiresFrom?: 'PKG-INFO' | 'requires.txt' | 'pyproject.toml' | 'setup.cfg';
  requiresPython?: string;
  /** PEP 517 backend; setuptools' legacy one when the tree has no [build-system] */
  backend: string;
  /** [build-system] requires */
  buildRequires: string[];
  /** top-level import names, sorted */
  modules: string[];
}

/** RFC 822-style headers of PKG-INFO: every value of each field, continuation lines joined. */
export function parseHeaders(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break; // the body (the long description) follows
    if (/^[ \t]/.test(line) && last) {
      const vs = out.get(last)!;
      vs[vs.length - 1] += `\n${line.trim()}`;
      continue;
    }
    const m = /^([A-Za-z0-9-]+):[ \t]*(.*)$/.exec(line);
    if (!m) continue;
    last = m[1]!.toLowerCase();
    out.set(last, [...(out.get(last) ?? []), m[2]!]);
  }
  return out;
}

/** setuptools' requires.txt: `[extra:marker]` sections → PEP 508 strings with markers. */
export function parseRequiresTxt(text: string): string[] {
  const out: string[] = [];
  let marker = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const section = /^\[([^\]:]*)(?::(.*))?\]$/.exec(line);
    if (section) {
      const extra = section[1]!.trim();
      const env = section[2]?.trim();
      marker = [env ? `(${env})` : '', extra ? `extra == "${extra}"` : ''].filter(Boolean).join(' and ');
      continue;
    }
    out.push(marker ? `${line}; ${marker}` : line);
  }
  return out;
}

/** setuptools' declarative setup.cfg (INI): section → key → value, continuation lines joined with newlines. */
export function parseSetupCfg(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let section: Map<string, string> | undefined;
  let key: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*[#;]/.test(raw) || !raw.trim()) continue;
    const head = /^\[([^\]]+)\]\s*$/.exec(raw);
    if (head) {
      section = out.get(head[1]!.trim()) ?? new Map<string, string>();
      out.set(head[1]!.trim(), section);
      key = undefined;
      continue;
    }
    if (/^\s/.test(raw) && section && key !== undefined) {
      section.set(key, `${section.get(key)}\n${raw.trim()}`.replace(/^\n/, ''));
      continue;
    }
    const kv = /^([^=:\s][^=:]*?)\s*[=:]\s*(.*)$/.exec(raw);
    if (kv && section) {
      key = kv[1]!.toLowerCase().replace(/-/g, '_');
      section.set(key, kv[2]!.trim());
    }
  }
  return out;
}

/** Trove classifiers of the common licences → SPDX, for trees that name no licence otherwise. */
const CLASSIFIER_SPDX: Record<string, string> = {
  'License :: OSI Approved :: MIT License': 'MIT',
  'License :: OSI Approved :: BSD License': 'BSD-3-Clause',
  'License :: OSI Approved :: Apache Software License': 'Apache-2.0',
  'License :: OSI Approved :: Python Software Foundation License': 'PSF-2.0',
  'License :: OSI Approved :: ISC License (ISCL)': 'ISC',
  'License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)': 'MPL-2.0',
  'License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)': 'LGPL-3.0-only',
  'License :: OSI Approved :: GNU General Public License v3 (GPLv3)': 'GPL-3.0-only',
  'License :: OSI Approved :: GNU General Public License v2 (GPLv2)': 'GPL-2.0-only',
};

/** Directories and modules that are not what a project installs. */
const NOT_MODULES = new Set(['test', 'tests', 'testing', 'doc', 'docs', 'example', 'examples', 'benchmark', 'benchmarks', 'bench', 'tools', 'scripts', 'build', 'dist', 'setup', 'conftest', 'noxfile', 'fabfile', 'tasks', 'ez_setup', 'versioneer', 'runtests', 'bootstrap', 'dodo', 'manage']);
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_REQUIRES = 1000;

/** One line, no control characters, at most `max` characters: fit for a one-line TOML field. */
export function oneLine(s: string | undefined, max = 200): string | undefined {
  if (s === undefined) return undefined;
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\x00-\x1f\x7f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
  if (!t || t.toUpperCase() === 'UNKNOWN') return undefined;
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function modulesOf(tree: SourceTree, pyproject: TomlTable | undefined, name: string | undefined): string[] {
  const topLevel = [...tree.texts].find(([p]) => /\.egg-info\/top_level\.txt$/.test(p))?.[1];
  const clean = (xs: string[]) => {
    const ok = [...new Set(xs.map((x) => x.trim()).filter((x) => IDENT.test(x) && !NOT_MODULES.has(x.toLowerCase())))];
    const pub = ok.filter((x) => !x.startsWith('_'));
    return (pub.length ? pub : ok).sort();
  };
  if (topLevel) {
    const found = clean(topLevel.split(/\r?\n/));
    if (found.length) return found;
  }
  const flit = ((pyproject?.['tool'] as TomlTable | undefined)?.['flit'] as TomlTable | undefined)?.['module'] as TomlTable | undefined;
  if (typeof flit?.['name'] === 'string') return clean([flit['name']]);
  const guess = name?.replace(/[-.]/g, '_');
  // The layout: a src/ directory of packages, else the tree's root. Beside packages, a
  // loose module is a helper script (chardet's convert_language_model.py), unless it is
  // named after the project.
  const under = (dir: string) => {
    const prefix = dir ? `${dir}/` : '';
    const packages: string[] = [];
    const modules: string[] = [];
    for (const p of tree.paths) {
      if (!p.startsWith(prefix)) continue;
      const rest = p.slice(prefix.length);
      if (rest.includes('/')) {
        const [pkg, file] = rest.split('/');
        if (file === '__init__.py' && rest.split('/').length === 2) packages.push(pkg!);
      } else if (rest.endsWith('.py') && !/^test_|_test\.py$/.test(rest)) modules.push(rest.slice(0, -3));
    }
    const pkgs = clean(packages);
    return pkgs.length ? clean([...pkgs, ...modules.filter((m) => m.toLowerCase() === guess?.toLowerCase())]) : clean(modules);
  };
  const fromSrc = tree.paths.has('src') ? under('src') : [];
  if (fromSrc.length) return fromSrc;
  const fromRoot = under('');
  if (fromRoot.length) return fromRoot;
  // PEP 420 namespace or a compiled-only module: the project's name is the best guess
  return guess && IDENT.test(guess) && (tree.paths.has(guess) || tree.paths.has(`src/${guess}`)) ? [guess] : [];
}

export function readProjectInfo(tree: SourceTree): ProjectInfo {
  const pkgInfoText = tree.texts.get('PKG-INFO') ?? [...tree.texts].find(([p]) => /\.egg-info\/PKG-INFO$/.test(p))?.[1];
  const h = pkgInfoText ? parseHeaders(pkgInfoText) : new Map<string, string[]>();
  const one = (k: string) => h.get(k)?.[0];
  const pyText = tree.texts.get('pyproject.toml');
  const parsed = pyText !== undefined ? parseToml(pyText) : undefined;
  const pyproject = parsed?.ok ? parsed.doc : undefined;
  const project = pyproject?.['project'] as TomlTable | undefined;
  const buildSystem = pyproject?.['build-system'] as TomlTable | undefined;

  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const cfgText = tree.texts.get('setup.cfg');
  const cfg = cfgText !== undefined ? parseSetupCfg(cfgText) : undefined;
  const cfgMeta = cfg?.get('metadata');
  const cfgOptions = cfg?.get('options');
  /** a setup.cfg value, unless it points elsewhere (attr:, file:) */
  const literal = (v: string | undefined) => (v && !/^(attr|file):/.test(v) ? v : undefined);
  const name = one('name') ?? str(project?.['name']) ?? literal(cfgMeta?.get('name'));
  const version = one('version') ?? str(project?.['version']) ?? literal(cfgMeta?.get('version'));
  const summary = oneLine(one('summary') ?? str(project?.['description']) ?? literal(cfgMeta?.get('description')));
  const projectLicense = project?.['license'];
  const licenseField = one('license-expression') ?? str(projectLicense) ?? one('license') ?? str((projectLicense as TomlTable | undefined)?.['text']) ?? literal(cfgMeta?.get('license'));
  const classifiers = [...(h.get('classifier') ?? []), ...((project?.['classifiers'] as unknown[] | undefined) ?? []).filter((c): c is string => typeof c === 'string'), ...(cfgMeta?.get('classifiers') ?? '').split('\n').map((c) => c.trim())];
  // a License field holding a whole licence text is not a licence name
  const license = (licenseField && !licenseField.includes('\n') && licenseField.length <= 100 ? oneLine(licenseField) : undefined) ?? classifiers.map((c) => CLASSIFIER_SPDX[c]).find((x) => x !== undefined);
  const urls = [...(h.get('project-url') ?? [])].map((u) => u.split(',', 2).map((x) => x.trim()) as [string, string?]);
  const projectUrls = (project?.['urls'] as Record<string, unknown> | undefined) ?? {};
  const homepage = [one('home-page'), literal(cfgMeta?.get('url')), ...urls.filter(([k]) => /^home ?page$/i.test(k)).map(([, v]) => v), str(projectUrls['Homepage'] ?? projectUrls['homepage']), ...urls.filter(([k]) => /^(source|repository|documentation)$/i.test(k)).map(([, v]) => v)].find(
    (u) => u !== undefined && /^https?:\/\/[^\s"]+$/.test(u),
  );

  let requiresDist = h.get('requires-dist') ?? [];
  let requiresFrom: ProjectInfo['requiresFrom'] = requiresDist.length ? 'PKG-INFO' : undefined;
  const requiresTxt = [...tree.texts].find(([p]) => /\.egg-info\/requires\.txt$/.test(p))?.[1];
  if (!requiresFrom && requiresTxt !== undefined) {
    requiresDist = parseRequiresTxt(requiresTxt);
    requiresFrom = 'requires.txt';
  }
  const dynamic = ((project?.['dynamic'] as unknown[] | undefined) ?? []).includes('dependencies');
  if (!requiresFrom && project && !dynamic) {
    requiresDist = ((project['dependencies'] as unknown[] | undefined) ?? []).filter((d): d is string => typeof d === 'string');
    const optional = (project['optional-dependencies'] as Record<string, unknown> | undefined) ?? {};
    for (const [extra, deps] of Object.entries(optional).sort(([a], [b]) => (a < b ? -1 : 1))) {
      for (const d of Array.isArray(deps) ? deps : []) if (typeof d === 'string') requiresDist.push(d.includes(';') ? `${d.replace(/;(.*)$/, '; ($1)')} and extra == "${extra}"` : `${d}; extra == "${extra}"`);
    }
    requiresFrom = 'pyproject.toml';
  }
  // setuptools' declarative config: an [options] section lists install_requires when there are any
  if (!requiresFrom && cfgOptions) {
    // setuptools' "list-semi": one per line, or on one line separated by semicolons
    const lines = (v: string | undefined) => {
      const t = literal(v) ?? '';
      return (t.includes('\n') ? t.split('\n') : t.split(';')).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    };
    requiresDist = lines(cfgOptions.get('install_requires'));
    for (const [extra, deps] of [...(cfg?.get('options.extras_require') ?? new Map<string, string>())].sort(([a], [b]) => (a < b ? -1 : 1))) {
      for (const d of lines(deps)) requiresDist.push(`${d}; extra == "${extra}"`);
    }
    requiresFrom = 'setup.cfg';
  }
  // A PKG-INFO of Metadata-Version 2.1+ lists Requires-Dist whenever there are any (2.2+ says
  // when it leaves them dynamic); an older one next to an .egg-info without requires.txt has none.
  if (!requiresFrom && pkgInfoText) {
    const mv = Number(one('metadata-version') ?? 0);
    const dynamicRequires = (h.get('dynamic') ?? []).some((d) => d.toLowerCase() === 'requires-dist');
    const eggInfo = [...tree.paths].some((p) => /^(src\/)?[^/]+\.egg-info$/.test(p));
    if ((mv >= 2.1 && !dynamicRequires) || eggInfo) requiresFrom = 'PKG-INFO';
  }

  // no real project has thousands; a tree that does is not worth parsing them all
  if (requiresDist.length > MAX_REQUIRES) requiresDist = requiresDist.slice(0, MAX_REQUIRES);
  const requiresPython = one('requires-python') ?? str(project?.['requires-python']) ?? literal(cfgOptions?.get('python_requires'));
  const backend = str(buildSystem?.['build-backend']) ?? 'setuptools.build_meta:__legacy__';
  const buildRequires = ((buildSystem?.['requires'] as unknown[] | undefined) ?? (buildSystem ? [] : ['setuptools'])).filter((d): d is string => typeof d === 'string');
  return {
    ...(name ? { name: name.trim() } : {}),
    ...(version ? { version: version.trim() } : {}),
    ...(summary ? { summary } : {}),
    ...(license ? { license } : {}),
    ...(homepage ? { homepage } : {}),
    requiresDist,
    ...(requiresFrom ? { requiresFrom } : {}),
    ...(requiresPython ? { requiresPython: requiresPython.trim() } : {}),
    backend,
    buildRequires,
    modules: modulesOf(tree, pyproject, name),
  };
}
