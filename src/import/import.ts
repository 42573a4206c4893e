import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError, type WeldError } from '../core/errors.js';
import { emitterFor, type Listener } from '../core/events.js';
import { err, ok, type Result } from '../core/result.js';
import { loadMetadata } from '../metadata/load.js';
import type { Metadata } from '../metadata/model.js';
import { isValidProjectName, normalizeName } from '../metadata/names.js';
import { WorkTreeSource } from '../metadata/source.js';
import { missingBuildDebs, missingRecipeDebs } from './build-needs.js';
import { describeCandidate, type ProjectSource } from './candidate.js';
import { ImportUnresolvedError, type Unresolved } from './errors.js';
import type { ImportEvent } from './events.js';
import { libraryDevs, planPacks, type NewPack, type PackMemo } from './native.js';
import { evaluateMarker } from './pep508.js';
import { OverlaySource } from './overlay.js';
import { renderPackageFile } from './render.js';
import { readRequirementsFiles } from './requirements.js';
import { resolve, type Chosen, type RootDemand } from './resolve.js';
import { DebianSource, type DebianSuite } from './sources/debian.js';
import { SimpleIndexSource } from './sources/simple-index.js';
import { buildTargets } from './targets.js';
import { readProjectInfo } from './project-info.js';
import { readSourceTree } from './source-tree.js';

export type SourceKind = 'debian' | 'index';

export interface ImportOptions {
  metadata: Metadata;
  /** requirements files, as the user named them (relative to cwd) */
  requirements?: string[];
  /** `weld import debian <source>…` */
  debianSources?: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  aptDir?: string;
  /** PEP 503/691 index root; also `-i` in a requirements file */
  indexUrl?: string;
  /** in the order they are asked; default debian, then the index when there is one */
  sources?: SourceKind[];
  /** Debian suites to look in after the builder envs' own (their files say `suite = …`) */
  extraSuites?: string[];
  update?: boolean;
  dryRun?: boolean;
  jobs?: number;
  onEvent?: Listener<ImportEvent>;
}

export interface ImportedFile {
  file: string;
  package: string;
  version: string;
  kind: 'wheel' | 'pack';
  status: 'new' | 'updated' | 'unchanged';
  from: string;
  text: string;
}

export interface ImportSummary {
  files: ImportedFile[];
  imported: number;
  updated: number;
  unchanged: number;
  present: Array<{ package: string; version: string; note?: string }>;
  unresolved: Unresolved[];
  warnings: string[];
  dryRun: boolean;
}

/** `weld import`: resolve, plan the package files, check them as `weld check` would, then write them. */
export async function importProjects(opts: ImportOptions): Promise<Result<ImportSummary, WeldError>> {
  const { metadata } = opts;
  const emitRun = (detail: string) => opts.onEvent?.({ type: 'phase', at: Date.now(), data: { detail } });
  const targets = buildTargets(metadata);
  if (!targets.ok) return targets;
  const defaultEnv = metadata.envs.get(metadata.distro.defaultEnv) ?? targets.value[0]!.env;
  const warnings: string[] = [];

  // Requirements first: a file may name the index.
  const roots: RootDemand[] = [];
  let pre = false;
  let indexUrl = opts.indexUrl;
  if (opts.requirements?.length) {
    const files = readRequirementsFiles({ files: opts.requirements, cwd: opts.cwd });
    if (!files.ok) return files;
    warnings.push(...files.value.warnings);
    pre = files.value.pre;
    indexUrl ??= files.value.indexUrl;
    for (const l of files.value.lines) {
      // a requirement whose marker holds on no target is not one
      if (l.req.marker && !targets.value.some((t) => evaluateMarker({ marker: l.req.marker!, env: t.markers, extras: [] }))) {
        warnings.push(`${l.at}: ${l.req.name} is left out: its marker holds on no builder env (${targets.value.map((t) => `${t.env.name}: Python ${t.python} on ${t.markers['platform_machine']}`).join('; ')})`);
        continue;
      }
      roots.push({ key: l.req.key, name: l.req.name, specifier: l.req.specifier, extras: l.req.extras, by: `${l.constraint ? 'constraint ' : ''}${l.at}`, hashes: l.hashes, constraint: l.constraint });
    }
  }
  const kinds = opts.sources ?? (indexUrl ? ['debian', 'index'] : ['debian']);
  if (kinds.includes('index') && !indexUrl) return err(new UsageError('weld import: --sources names index, but there is no index URL', 'pass --index-url <url> (or put -i <url> in the requirements file)'));
  const suites: DebianSuite[] = [];
  for (const t of targets.value) if (!suites.some((s) => s.suite === t.env.suite)) suites.push({ suite: t.env.suite, components: t.env.components, otherSuite: false });
  for (const s of opts.extraSuites ?? []) if (!suites.some((x) => x.suite === s)) suites.push({ suite: s, components: ['main'], otherSuite: true });
  const debian = new DebianSource({ suites, ...(opts.env ? { env: opts.env } : {}), ...(opts.aptDir ? { aptDir: opts.aptDir } : {}) });
  const sources: ProjectSource[] = [];
  for (const k of kinds) {
    if (k === 'debian') sources.push(debian);
    else if (indexUrl) sources.push(new SimpleIndexSource({ url: indexUrl }));
  }
  const useDebian = kinds.includes('debian');

  const unresolvedRoots: Unresolved[] = [];
  for (const src of opts.debianSources ?? []) {
    emitRun(`looking up Debian source ${src}`);
    const found = await debian.bySource(src);
    if (!found.ok) return found;
    if (found.value.binaries.length && !found.value.binaries.some((b) => b.startsWith('python3-'))) {
      unresolvedRoots.push({ project: src, wanted: '', by: [`debian ${src}`], why: `it builds no python3-* package (${found.value.binaries.slice(0, 5).join(', ')}): weld import debian takes the sources of Python projects; a library becomes a pack when a wheel's Build-Depends names it` });
      continue;
    }
    const best = found.value.candidates.at(-1);
    if (!best) {
      unresolvedRoots.push({ project: src, wanted: '', by: [`debian ${src}`], why: found.value.skipped.length ? `no usable version: ${found.value.skipped.join('; ')}` : `no source package "${src}" in ${suites.map((s) => s.suite).join(', ')}` });
      continue;
    }
    // the project's own name: its metadata's when the .orig says, else the binary python3-<name>
    const bytes = await debian.fetch(best);
    const tree = bytes.ok ? await readSourceTree({ bytes: bytes.value, label: describeCandidate(best) }) : bytes;
    if (!tree.ok) {
      unresolvedRoots.push({ project: src, wanted: `==${best.version}`, by: [`debian ${src}`], why: tree.error.message });
      continue;
    }
    const named = readProjectInfo(tree.value).name;
    const binary = found.value.binaries.find((b) => b.startsWith('python3-'));
    const key = normalizeName(named && isValidProjectName(named) ? named : binary ? binary.slice('python3-'.length) : src);
    roots.push({ key, name: key, specifier: `==${best.version}`, extras: [], by: `debian ${src}`, hashes: [], constraint: false, debianSource: src });
  }

  emitRun(`resolving ${roots.length} requirement${roots.length === 1 ? '' : 's'} from ${sources.map((s) => s.name).join(', then ') || 'no source'}`);
  const res = await resolve({
    roots,
    sources,
    targets: targets.value,
    existing: metadata.packages,
    update: opts.update === true,
    pre,
    ...(opts.jobs ? { jobs: opts.jobs } : {}),
    onPhase: (key, detail) => emitterFor<ImportEvent>({ subject: { kind: 'package', name: key }, listener: opts.onEvent })('phase', { detail }),
  });

  const unresolved = new Map<string, Unresolved>(res.unresolved);
  for (const u of unresolvedRoots) unresolved.set(normalizeName(u.project), u);
  const made: PackMemo = new Map();
  const plans = new Map<string, { chosen: Chosen; requires: string[]; runtime: string[]; notes: string[] }>();
  for (const [key, c] of [...res.chosen].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const notes: string[] = [...c.warnings];
    const name = c.info.name && isValidProjectName(c.info.name) && normalizeName(c.info.name) === key ? c.info.name : key;
    if (c.info.name && normalizeName(c.info.name) !== key) notes.push(`its metadata names it "${c.info.name.slice(0, 80)}", not ${key}`);
    for (const m of missingBuildDebs({ backend: c.info.backend, buildRequires: c.info.buildRequires, env: defaultEnv })) notes.push(`builder env ${defaultEnv.name} lacks the ${m.what}: add Debian package ${m.deb} to ${defaultEnv.file}`);
    for (const m of missingRecipeDebs({ recipe: 'python-wheel', env: defaultEnv })) notes.push(`builder env ${defaultEnv.name} lacks ${m.deb}, which ${m.what} needs`);
    // native build dependencies, from Debian's packaging of the project
    let requires: string[] = [];
    if (useDebian) {
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
    const kept = old && old.kind === 'wheel' && old.version === c.candidate.version ? { release: old.release, ...(old.env !== metadata.distro.defaultEnv ? { env: old.env } : {}), vars: old.vars, ...(old.repair ? { repair: old.repair } : {}) } : {};
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
  files.sort((a, b) => (a.file < b.file ? -1 : 1));
  for (const p of plans.values()) for (const n of p.notes) warnings.push(`${p.chosen.name}: ${n}`);

  // What would be written must pass `weld check` as a whole, before any of it is written.
  if (texts.size) {
    emitRun(`checking ${texts.size} file${texts.size === 1 ? '' : 's'} as weld check does`);
    const checked = await loadMetadata({ source: new OverlaySource(new WorkTreeSource(metadata.root, opts.cwd), texts), metaDir: metadata.metaDir, cacheDir: false, ...(opts.env ? { env: opts.env } : {}) });
    if (!checked.ok) return checked;
  }
  if (!opts.dryRun) {
    for (const [file, text] of [...texts].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const abs = path.join(metadata.root, file);
      const tmp = `${abs}.weld-import-${process.pid}.tmp`;
      writeFileSync(tmp, text);
      renameSync(tmp, abs);
    }
  }
  const summary: ImportSummary = {
    files,
    imported: files.filter((f) => f.status === 'new').length,
    updated: files.filter((f) => f.status === 'updated').length,
    unchanged: files.filter((f) => f.status === 'unchanged').length,
    present: [...res.present.values()].map((p) => ({ package: p.pkg.displayName, version: p.pkg.version, ...(p.note ? { note: p.note } : {}) })).sort((a, b) => (a.package < b.package ? -1 : 1)),
    unresolved: [...unresolved.values()].sort((a, b) => (normalizeName(a.project) < normalizeName(b.project) ? -1 : 1)),
    warnings: [...new Set([...warnings, ...res.warnings])],
    dryRun: opts.dryRun === true,
  };
  if (summary.unresolved.length) return err(new ImportUnresolvedError(summary.unresolved, summary));
  return ok(summary);
}
