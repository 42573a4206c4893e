import pLimit from 'p-limit';
import type { WeldError } from '../core/errors.js';
import type { Result } from '../core/result.js';
import { ChecksumMismatchError } from '../mirror/errors.js';
import type { Package } from '../metadata/model.js';
import { normalizeName } from '../metadata/names.js';
import { describeCandidate, type Candidate, type ProjectSource, type SourceOffer } from './candidate.js';
import type { Unresolved } from './errors.js';
import { evaluateMarker, exactPin, isPrerelease, parseRequirement, satisfies, sortVersions, validVersion } from './pep508.js';
import { readProjectInfo, type ProjectInfo } from './project-info.js';
import { readSourceTree, type SourceTree } from './source-tree.js';
import type { Target } from './targets.js';

// The resolver: every root requirement and the closure of its run-time requirements, each
// to one version from the first source (in the configured order) that has a version every
// requirer accepts. It works in rounds: the projects a round needs are looked up and read
// in parallel, and decided one by one in name order, so the outcome does not depend on
// which answer came first. A requirer whose choice changes takes its requirements back.
// It does not search alternatives: a conflict is reported with everyone's specifiers.

export interface RootDemand {
  key: string;
  name: string;
  specifier: string;
  extras: string[];
  /** `requirements.txt:3` */
  by: string;
  hashes: string[];
  constraint: boolean;
  /** `weld import debian <source>`: only this Debian source package will do */
  debianSource?: string;
}

export interface Chosen {
  key: string;
  /** the project's name as it spells it (PKG-INFO), else as first asked for */
  name: string;
  candidate: Candidate;
  source: ProjectSource;
  info: ProjectInfo;
  tree: SourceTree;
  /** run-time requirements once markers are evaluated (no extras): key → extras asked of it */
  requires: Map<string, string[]>;
  /** what each extra of this project adds: extra → keys */
  extraRequires: Map<string, Map<string, string[]>>;
  warnings: string[];
}

export interface Resolution {
  chosen: Map<string, Chosen>;
  /** projects the distro already has (left alone), by key, with who asked */
  present: Map<string, { pkg: Package; by: string[]; note?: string }>;
  unresolved: Map<string, Unresolved>;
  warnings: string[];
  /** the roots' keys, after constraints */
  roots: string[];
}

interface Spec {
  specifier: string;
  by: string;
  /** the requirer's key; undefined for roots and constraints */
  from?: string;
}

export interface ResolveOptions {
  roots: RootDemand[];
  sources: ProjectSource[];
  targets: Target[];
  /** the distro's packages by key; taken as they are unless `update` */
  existing: Map<string, Package>;
  update: boolean;
  pre: boolean;
  jobs?: number;
  onPhase?: (key: string, detail: string) => void;
}

const MAX_ROUNDS = 1_000;

export async function resolve(opts: ResolveOptions): Promise<Resolution> {
  const limit = pLimit(opts.jobs ?? 8);
  const specs = new Map<string, Spec[]>();
  /** key → extra → who asked for it ('' for a root) */
  const extras = new Map<string, Map<string, Set<string>>>();
  const askExtras = (key: string, list: string[], from: string) => {
    const ex = extras.get(key) ?? new Map<string, Set<string>>();
    for (const e of list) ex.set(e, (ex.get(e) ?? new Set<string>()).add(from));
    extras.set(key, ex);
  };
  const extrasOf = (key: string) => [...(extras.get(key)?.keys() ?? [])].sort();
  const names = new Map<string, string>();
  const hashes = new Map<string, { hashes: Set<string>; by: string }>();
  const debianOnly = new Map<string, string>();
  const chosen = new Map<string, Chosen>();
  const present: Resolution['present'] = new Map();
  const unresolved = new Map<string, Unresolved>();
  const warnings: string[] = [];
  /** candidates that failed to fetch or read, by key: tried no more */
  const bad = new Map<string, Map<Candidate, string>>();
  const offers = new Map<string, Promise<Array<Result<SourceOffer, WeldError>>>>();
  const read = new Map<Candidate, Promise<Result<{ tree: SourceTree; info: ProjectInfo }, WeldError>>>();
  const expandedExtras = new Map<string, string>();

  const addSpec = (key: string, s: Spec) => specs.set(key, [...(specs.get(key) ?? []), s]);
  for (const r of opts.roots) {
    names.set(r.key, names.get(r.key) ?? r.name);
    addSpec(r.key, { specifier: r.specifier, by: r.by });
    if (!r.constraint) askExtras(r.key, r.extras, '');
    if (r.hashes.length) {
      const h = hashes.get(r.key) ?? { hashes: new Set<string>(), by: r.by };
      r.hashes.forEach((x) => h.hashes.add(x));
      hashes.set(r.key, h);
    }
    if (r.debianSource) debianOnly.set(r.key, r.debianSource);
  }
  const roots = [...new Set(opts.roots.filter((r) => !r.constraint).map((r) => r.key))].sort();
  /** a project is wanted when a root or a chosen project asks for it, not only a constraint */
  const wanted = (key: string) => roots.includes(key) || (specs.get(key) ?? []).some((s) => s.from !== undefined);

  const specifierOf = (key: string) =>
    (specs.get(key) ?? [])
      .map((s) => s.specifier)
      .filter(Boolean)
      .join(',');
  const askers = (key: string) => [...new Set((specs.get(key) ?? []).filter((s) => s.specifier || s.from !== undefined || !s.by.startsWith('constraint')).map((s) => `${s.specifier || 'any version'} (${s.by})`))];

  const offersFor = (key: string) => {
    let p = offers.get(key);
    if (!p) offers.set(key, (p = Promise.all(opts.sources.map((s) => limit(() => s.offer(key))))));
    return p;
  };

  /** the candidate to take for `key` now, or why there is none */
  const pick = (key: string, got: Array<Result<SourceOffer, WeldError>>): { candidate: Candidate; source: ProjectSource } | { why: string } => {
    const spec = specifierOf(key);
    const pin = exactPin(spec);
    const pre = opts.pre || (specs.get(key) ?? []).some((s) => s.specifier.split(',').some((p) => isPrerelease(p.replace(/^[<>=!~]+/, '').replace(/\.\*$/, ''))));
    const have: string[] = [];
    for (let i = 0; i < got.length; i++) {
      const offer = got[i]!;
      const source = opts.sources[i]!;
      if (!offer.ok) {
        have.push(`${source.name}: ${offer.error.message}`);
        // the next source may have it; the user should still know this one was not asked
        const w = `${source.name} could not be read, so the next source was asked instead: ${offer.error.message}`;
        if (!warnings.includes(w)) warnings.push(w);
        continue;
      }
      const only = debianOnly.get(key);
      const fits = offer.value.candidates.filter((c) => {
        if (only !== undefined && (c.origin.kind !== 'debian' || c.origin.source !== only)) return false;
        if (bad.get(key)?.has(c)) return false;
        if (c.yanked && !pin) return false;
        if (c.requiresPython && !opts.targets.every((t) => satisfies({ version: t.python, specifier: c.requiresPython!, prereleases: true }))) return false;
        return satisfies({ version: c.version, specifier: spec, prereleases: pre || (pin !== undefined && isPrerelease(pin)) });
      });
      if (fits.length) {
        const best = sortVersions([...new Set(fits.map((c) => c.version))]).at(-1)!;
        return { candidate: fits.find((c) => c.version === best)!, source };
      }
      const versions = sortVersions([...new Set(offer.value.candidates.map((c) => c.version))]);
      const failed = [...(bad.get(key) ?? new Map<Candidate, string>())].filter(([c]) => offer.value.candidates.includes(c)).map(([c, why]) => `${c.version}: ${why}`);
      have.push(`${offer.value.name} has ${versions.length ? versions.join(', ') : 'no version of it'}${failed.length ? ` (unusable: ${failed.join('; ')})` : ''}${offer.value.skipped.length ? ` (skipped: ${offer.value.skipped.slice(0, 5).join('; ')})` : ''}`);
    }
    const asked = askers(key).join(', ');
    return { why: `no source has a version that fits: ${asked || 'any version'}; ${have.join('; ') || 'no source configured'}` };
  };

  const readCandidate = (c: Candidate, source: ProjectSource) => {
    let p = read.get(c);
    if (!p) {
      read.set(
        c,
        (p = limit(async () => {
          const bytes = await source.fetch(c);
          if (!bytes.ok) return bytes;
          const tree = await readSourceTree({ bytes: bytes.value, label: describeCandidate(c) });
          if (!tree.ok) return tree;
          return { ok: true as const, value: { tree: tree.value, info: readProjectInfo(tree.value) } };
        })),
      );
    }
    return p;
  };

  /** drops what `key`'s current choice asked of others, before it is chosen again */
  const retract = (key: string) => {
    for (const [k, list] of specs) specs.set(k, list.filter((s) => s.from !== key));
    for (const [, ex] of extras) {
      for (const [e, from] of ex) {
        from.delete(key);
        if (from.size === 0) ex.delete(e);
      }
    }
  };

  const needsWork = (key: string): boolean => {
    if (!wanted(key) || unresolved.has(key) || present.has(key)) return false;
    const c = chosen.get(key);
    if (!c) return true;
    if (!satisfies({ version: c.candidate.version, specifier: specifierOf(key), prereleases: true })) return true;
    return expandedExtras.get(key) !== extrasOf(key).join(',');
  };

  for (let round = 0; round < MAX_ROUNDS; round++) {
    const keys = [...specs.keys()].filter(needsWork).sort();
    if (keys.length === 0) break;
    // present in the distro: left alone, and its requirements are the distro's business
    const todo: string[] = [];
    for (const key of keys) {
      const pkg = opts.existing.get(key);
      if (pkg && !opts.update) {
        const spec = specifierOf(key);
        const fits = spec === '' || pkg.kind === 'pack' || satisfies({ version: pkg.version, specifier: spec, prereleases: true });
        present.set(key, { pkg, by: askers(key), ...(fits ? {} : { note: `the distro has ${pkg.displayName} ${pkg.version}, which does not satisfy ${spec}; left alone (import with --update to replace it)` }) });
        continue;
      }
      todo.push(key);
    }
    const got = await Promise.all(todo.map((k) => offersFor(k)));
    const picks = todo.map((key, i) => ({ key, pick: pick(key, got[i]!) }));
    for (const { key, pick: p } of picks) {
      if ('why' in p) {
        const pkg = opts.existing.get(key);
        if (pkg) {
          // --update: a package of the distro that no source has stays as it is
          present.set(key, { pkg, by: askers(key), note: `--update: ${p.why}; the distro's file is left as it is` });
          continue;
        }
        chosen.delete(key);
        retract(key);
        unresolved.set(key, { project: names.get(key) ?? key, wanted: specifierOf(key), by: (specs.get(key) ?? []).map((s) => s.by), why: p.why });
        continue;
      }
      const h = hashes.get(key);
      if (h && p.candidate.origin.kind === 'index' && !h.hashes.has(`sha256:${p.candidate.sha256}`)) {
        chosen.delete(key);
        retract(key);
        unresolved.set(key, {
          project: names.get(key) ?? key,
          wanted: specifierOf(key),
          by: [h.by],
          why: `hash mismatch: ${h.by} allows ${[...h.hashes].sort().join(', ')}, but ${p.candidate.origin.filename} (${p.candidate.version}) is sha256:${p.candidate.sha256}; nothing of it was used`,
        });
      }
    }
    const toRead = picks.filter(({ key, pick: p }) => !unresolved.has(key) && !('why' in p));
    toRead.forEach(({ key }) => opts.onPhase?.(key, 'reading'));
    const contents = await Promise.all(toRead.map(({ pick: p }) => readCandidate((p as { candidate: Candidate }).candidate, (p as { source: ProjectSource }).source)));
    toRead.forEach(({ key, pick: p }, i) => {
      const { candidate, source } = p as { candidate: Candidate; source: ProjectSource };
      const content = contents[i]!;
      if (!content.ok) {
        if (content.error instanceof ChecksumMismatchError) {
          chosen.delete(key);
          retract(key);
          unresolved.set(key, { project: names.get(key) ?? key, wanted: specifierOf(key), by: (specs.get(key) ?? []).map((s) => s.by), why: `${content.error.message} (the source's promise and its file differ)` });
          return;
        }
        // a .orig the archive does not serve, say: the next candidate may do
        const b = bad.get(key) ?? new Map<Candidate, string>();
        b.set(candidate, content.error.message);
        bad.set(key, b);
        return;
      }
      const { info, tree } = content.value;
      // a Debian binary name is a guess at the project (python3-zap may be PyZap): the tree's own metadata decides
      if (info.name && normalizeName(info.name) !== key) {
        const b = bad.get(key) ?? new Map<Candidate, string>();
        b.set(candidate, `its metadata names another project, "${info.name.slice(0, 80)}"`);
        bad.set(key, b);
        return;
      }
      // recipes/python-wheel.sh builds the tree's root with pip: it must be a project there
      if (!['setup.py', 'pyproject.toml', 'setup.cfg'].some((f) => tree.paths.has(f))) {
        const b = bad.get(key) ?? new Map<Candidate, string>();
        b.set(candidate, 'its tree has no setup.py, setup.cfg or pyproject.toml at the root, so pip cannot build it');
        bad.set(key, b);
        return;
      }
      // a Debian version can say more than its tree (8.2.0+0.really.8.1.8 holds 8.1.8): the tree's metadata decides
      if (info.version && validVersion(info.version) && !satisfies({ version: info.version, specifier: `==${candidate.version}`, prereleases: true })) {
        const b = bad.get(key) ?? new Map<Candidate, string>();
        b.set(candidate, `its metadata says version ${info.version.slice(0, 40)}`);
        bad.set(key, b);
        return;
      }
      if (info.requiresPython && !opts.targets.every((t) => satisfies({ version: t.python, specifier: info.requiresPython!, prereleases: true }))) {
        const b = bad.get(key) ?? new Map<Candidate, string>();
        b.set(candidate, `it requires Python ${info.requiresPython}, and ${opts.targets.map((t) => `${t.env.name} has ${t.python}`).join(', ')}`);
        bad.set(key, b);
        return;
      }
      const previous = chosen.get(key);
      if (previous) retract(key);
      const c = expand({ key, name: info.name ?? names.get(key) ?? key, candidate, source, info, tree, targets: opts.targets, askedExtras: extrasOf(key) });
      expandedExtras.set(key, extrasOf(key).join(','));
      chosen.set(key, c.chosen);
      opts.onPhase?.(key, `${c.chosen.name} ${candidate.version} from ${describeCandidate(candidate)}`);
      for (const d of c.demands) {
        names.set(d.key, names.get(d.key) ?? d.name);
        addSpec(d.key, { specifier: d.key === key ? '' : d.specifier, by: `required by ${c.chosen.name} ${candidate.version}`, from: key });
        askExtras(d.key, d.extras, key);
      }
    });
  }

  // Only what the roots reach now: a requirement of an abandoned choice is not imported.
  const reach = new Set<string>();
  const visit = (k: string) => {
    if (reach.has(k)) return;
    reach.add(k);
    const c = chosen.get(k);
    if (!c) return;
    for (const d of c.requires.keys()) visit(d);
    for (const e of extrasOf(k)) for (const d of c.extraRequires.get(e)?.keys() ?? []) visit(d);
  };
  roots.forEach(visit);
  for (const k of [...chosen.keys()]) if (!reach.has(k)) chosen.delete(k);
  for (const k of [...present.keys()]) if (!reach.has(k)) present.delete(k);
  for (const k of [...unresolved.keys()]) if (!reach.has(k)) unresolved.delete(k);
  return { chosen, present, unresolved, warnings, roots };
}

/** A chosen project's requirements, markers evaluated on every target. */
function expand(o: { key: string; name: string; candidate: Candidate; source: ProjectSource; info: ProjectInfo; tree: SourceTree; targets: Target[]; askedExtras: string[] }): {
  chosen: Chosen;
  demands: Array<{ key: string; name: string; specifier: string; extras: string[] }>;
} {
  const warnings: string[] = [];
  const requires = new Map<string, string[]>();
  const extraRequires = new Map<string, Map<string, string[]>>();
  const demands: Array<{ key: string; name: string; specifier: string; extras: string[] }> = [];
  if (!o.info.requiresFrom) warnings.push('its run-time requirements are unknown: the tree has no Requires-Dist, requires.txt, [project] dependencies or setup.cfg [options] (check setup.py by hand)');
  const holds = (marker: Parameters<typeof evaluateMarker>[0]['marker'] | undefined, ex: string[]) => marker === undefined || o.targets.some((t) => evaluateMarker({ marker, env: t.markers, extras: ex }));
  for (const text of o.info.requiresDist) {
    const parsed = parseRequirement(text);
    if (!parsed.ok) {
      warnings.push(`Requires-Dist "${text.slice(0, 80)}" is not PEP 508 (${parsed.message}); left out`);
      continue;
    }
    const r = parsed.value;
    if (holds(r.marker, [])) {
      if (r.key !== o.key) requires.set(r.key, [...new Set([...(requires.get(r.key) ?? []), ...r.extras])].sort());
      demands.push({ key: r.key, name: r.name, specifier: r.specifier, extras: r.extras });
      continue;
    }
    for (const e of o.askedExtras) {
      if (!holds(r.marker, [e])) continue;
      const m = extraRequires.get(e) ?? new Map<string, string[]>();
      m.set(r.key, [...new Set([...(m.get(r.key) ?? []), ...r.extras])].sort());
      extraRequires.set(e, m);
      demands.push({ key: r.key, name: r.name, specifier: r.specifier, extras: r.extras });
    }
  }
  return { chosen: { key: o.key, name: o.name, candidate: o.candidate, source: o.source, info: o.info, tree: o.tree, requires, extraRequires, warnings }, demands };
}
