import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Env, Metadata } from '../metadata/model.js';
import { isValidProjectName, normalizeName } from '../metadata/names.js';
import { missingBuildDebs, missingRecipeDebs } from './build-needs.js';
import { describeCandidate } from './candidate.js';
import type { Unresolved } from './errors.js';
import { libraryDevs, planPacks, type NewPack, type PackMemo } from './native.js';
import { renderPackageFile } from './render.js';
import type { Chosen, Resolution, RootDemand } from './resolve.js';
import type { DebianSource } from './sources/debian.js';
import { upstreamVersion } from '../mirror/debian/sources-index.js';

// From a resolution to the package files: each chosen project's file (its native build
// dependencies planned as packs), the packs they need, and what cannot be written because
// a requirement of it could not be imported.

export interface ImportedFile {
  file: string;
  package: string;
  version: string;
  kind: 'wheel' | 'pack';
  status: 'new' | 'updated' | 'unchanged';
  from: string;
  text: string;
}

export interface FilePlan {
  /** sorted by path */
  files: ImportedFile[];
  /** what differs from the work tree: project-relative path → text */
  texts: Map<string, string>;
  warnings: string[];
  unresolved: Map<string, Unresolved>;
}

export async function planFiles(opts: {
  res: Resolution;
  roots: RootDemand[];
  metadata: Metadata;
  /** when Debian is a source: Build-Depends come from it */
  debian?: DebianSource;
  defaultEnv: Env;
  update: boolean;
  unresolved: Map<string, Unresolved>;
}): Promise<FilePlan> {
  const { res, metadata, defaultEnv, debian, roots } = opts;
  const unresolved = opts.unresolved;
  const warnings: string[] = [];
  const made: PackMemo = new Map();
  const plans = new Map<string, { chosen: Chosen; requires: string[]; runtime: string[]; notes: string[] }>();
  for (const [key, c] of [...res.chosen].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const notes: string[] = [...c.warnings];
    // +dfsg, +ds, +repack: Debian took files out of upstream's release (certifi+ds has no cacert.pem)
    const repack = c.candidate.origin.kind === 'debian' ? /\+([a-z][a-z0-9.]*)/i.exec(upstreamVersion(c.candidate.origin.debianVersion))?.[1] : undefined;
    if (repack) notes.push(`Debian's .orig is a repack (+${repack}): files of upstream's release may be missing from it; check the wheel, or take the sdist from an index`);
    const name = c.info.name && isValidProjectName(c.info.name) && normalizeName(c.info.name) === key ? c.info.name : key;
    if (c.info.name && normalizeName(c.info.name) !== key) notes.push(`its metadata names it "${c.info.name.slice(0, 80)}", not ${key}`);
    for (const m of missingBuildDebs({ backend: c.info.backend, buildRequires: c.info.buildRequires, env: defaultEnv })) notes.push(`builder env ${defaultEnv.name} lacks the ${m.what}: add Debian package ${m.deb} to ${defaultEnv.file}`);
    for (const m of missingRecipeDebs({ recipe: 'python-wheel', env: defaultEnv })) notes.push(`builder env ${defaultEnv.name} lacks ${m.deb}, which ${m.what} needs`);
    // native build dependencies, from Debian's packaging of the project
    let requires: string[] = [];
    if (debian) {
      const entry = c.candidate.origin.kind === 'debian' ? c.candidate.origin.entry : await debian.entryFor(key).then((r) => (r.ok ? r.value : undefined));
      if (entry) {
        const devs = libraryDevs({ buildDepends: entry.buildDepends, env: defaultEnv });
        if (devs.length) {
          const plan = await planPacks({ devs, debian, metadata, env: defaultEnv, made, taken: (k) => res.chosen.has(k) });
          requires = plan.requires;
          notes.push(...plan.warnings);
        }
      }
    }
    const runtime = new Set<string>();
    const addWithExtras = (dep: string, extras: string[], seen: Set<string>) => {
      if (dep === key || seen.has(`${dep}[${extras.join(',')}]`)) return;
      seen.add(`${dep}[${extras.join(',')}]`);
      runtime.add(dep);
      const d = res.chosen.get(dep);
      for (const e of extras) for (const [k2, ex2] of d?.extraRequires.get(e) ?? []) addWithExtras(k2, ex2, seen);
    };
    for (const [dep, extras] of c.requires) addWithExtras(dep, extras, new Set());
    plans.set(key, { chosen: { ...c, name }, requires, runtime: [...runtime].sort(), notes });
  }
  for (const p of res.present.values()) if (p.note) warnings.push(p.note);
  for (const r of roots) {
    const c = plans.get(r.key)?.chosen;
    if (r.hashes.length && c?.candidate.origin.kind === 'debian') warnings.push(`${r.by}: --hash is not checked for ${c.name}: it comes from Debian's ${c.candidate.origin.orig}, verified against the Sources index instead`);
  }
  // A project whose requirement could not be imported cannot be written: its file would name a package that does not exist.
  for (let changed = true; changed; ) {
    changed = false;
    for (const [key, p] of plans) {
      const missing = p.runtime.find((d) => !plans.has(d) && !(res.present.get(d)?.pkg.kind === 'wheel'));
      if (!missing) continue;
      const why = unresolved.has(missing) ? `it requires ${missing}, which could not be imported` : res.present.has(missing) ? `it requires ${missing}, which is a pack in the distro, not a wheel` : `it requires ${missing}, which was not resolved`;
      unresolved.set(key, { project: p.chosen.name, wanted: `==${p.chosen.candidate.version}`, by: [], why });
      plans.delete(key);
      changed = true;
    }
  }

  const files: ImportedFile[] = [];
  const texts = new Map<string, string>();
  const pkgDir = `${metadata.metaDir}/packages`;
  const add = (o: { key: string; name: string; version: string; kind: 'wheel' | 'pack'; from: string; text: string }) => {
    const file = `${pkgDir}/${o.key}.toml`;
    const abs = path.join(metadata.root, file);
    const old = existsSync(abs) ? readFileSync(abs, 'utf8') : undefined;
    files.push({ file, package: o.name, version: o.version, kind: o.kind, status: old === undefined ? 'new' : old === o.text ? 'unchanged' : 'updated', from: o.from, text: o.text });
    if (old !== o.text) texts.set(file, o.text);
  };
  const usedPacks = new Set<string>([...plans.values()].flatMap((p) => p.requires));
  for (const [key, p] of plans) {
    const c = p.chosen;
    const o = c.candidate.origin;
    const from = describeCandidate(c.candidate);
    // --update of a version the distro already has keeps what the distro made of it:
    // its release (a lower one would reuse tag names), env, build vars and repair policy
    const old = metadata.packages.get(key);
    // setuptools-scm and hatch-vcs take the version from git, which a release tarball has not: tell them (as Debian does)
    const scm = c.info.buildRequires.some((r) => /^(setuptools[-_.]scm|hatch[-_.]vcs|flit[-_.]scm)\b/i.test(r.trim()));
    const vars: Record<string, string> = scm ? { SETUPTOOLS_SCM_PRETEND_VERSION: c.candidate.version } : {};
    const kept = old && old.kind === 'wheel' && old.version === c.candidate.version ? { release: old.release, ...(old.env !== metadata.distro.defaultEnv ? { env: old.env } : {}), vars: { ...vars, ...old.vars }, ...(old.repair ? { repair: old.repair } : {}) } : {};
    add({
      key,
      name: c.name,
      version: c.candidate.version,
      kind: 'wheel',
      from,
      text: renderPackageFile({
        comments: [`Imported by weld import from ${from}.`, ...p.notes.map((n) => `Note: ${n}.`)],
        name: c.name,
        version: c.candidate.version,
        kind: 'wheel',
        ...(c.info.summary ? { summary: c.info.summary } : {}),
        ...(c.info.license ? { license: c.info.license } : {}),
        ...(c.info.homepage ? { homepage: c.info.homepage } : o.kind === 'debian' && o.entry.homepage && /^https?:\/\/[^\s"]+$/.test(o.entry.homepage) ? { homepage: o.entry.homepage } : {}),
        upstream: o.kind === 'debian' ? { kind: 'debian', source: o.source, ...(o.otherSuite ? { suite: o.suite } : {}) } : { kind: 'tarball', url: o.url, sha256: c.candidate.sha256 },
        recipe: 'python-wheel',
        vars,
        ...kept,
        buildRequires: p.requires,
        runtimeRequires: p.runtime,
        imports: c.info.modules,
      }),
    });
  }
  // every pack a written wheel (or a written pack) needs, however deep
  const packs = new Map<string, NewPack>();
  for (const m of made.values()) {
    const r = await m;
    if (r.ok && 'key' in r.value) packs.set(r.value.key, r.value);
  }
  const needed = new Set<string>();
  const need = (k: string) => {
    if (needed.has(k) || !packs.has(k)) return;
    needed.add(k);
    packs.get(k)!.requires.forEach(need);
  };
  usedPacks.forEach(need);
  for (const k of [...needed].sort()) {
    const pk = packs.get(k)!;
    const from = `debian:${pk.suite}/${pk.source} ${pk.debianVersion} (${pk.orig})`;
    const notes = missingRecipeDebs({ recipe: pk.recipe, env: defaultEnv }).map((m) => `builder env ${defaultEnv.name} lacks ${m.deb}, which ${m.what} needs: add it to ${defaultEnv.file}.`);
    if (metadata.packages.has(k) && !opts.update) continue;
    add({
      key: k,
      name: pk.name,
      version: pk.version,
      kind: 'pack',
      from,
      text: renderPackageFile({
        comments: [`Imported by weld import from ${from}, a native build dependency.`, ...notes.map((n) => `Note: ${n}`)],
        name: pk.name,
        version: pk.version,
        kind: 'pack',
        ...(pk.homepage ? { homepage: pk.homepage } : {}),
        upstream: { kind: 'debian', source: pk.source, ...(pk.otherSuite ? { suite: pk.suite } : {}) },
        recipe: pk.recipe,
        buildRequires: pk.requires,
        runtimeRequires: [],
        imports: [],
      }),
    });
  }
  for (const p of plans.values()) for (const n of p.notes) warnings.push(`${p.chosen.name}: ${n}`);
  files.sort((a, b) => (a.file < b.file ? -1 : 1));
  return { files, texts, warnings, unresolved };
}
