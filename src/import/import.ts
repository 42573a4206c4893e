import { renameSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { UsageError, type WeldError } from '../core/errors.js';
import { emitterFor, type Listener } from '../core/events.js';
import { err, ok, type Result } from '../core/result.js';
import { loadMetadata } from '../metadata/load.js';
import type { Metadata } from '../metadata/model.js';
import { normalizeName } from '../metadata/names.js';
import { WorkTreeSource } from '../metadata/source.js';
import type { ProjectSource } from './candidate.js';
import { ImportUnresolvedError, type Unresolved } from './errors.js';
import type { ImportEvent } from './events.js';
import { OverlaySource } from './overlay.js';
import { planFiles, type ImportedFile } from './plan-files.js';
import { resolve, type RootDemand } from './resolve.js';
import { debianRoots, requirementRoots } from './roots.js';
import { DebianSource, type DebianSuite } from './sources/debian.js';
import { SimpleIndexSource } from './sources/simple-index.js';
import { buildTargets } from './targets.js';

export type { ImportedFile } from './plan-files.js';

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
  let roots: RootDemand[] = [];
  let pre = false;
  let indexUrl = opts.indexUrl;
  if (opts.requirements?.length) {
    const r = requirementRoots({ files: opts.requirements, cwd: opts.cwd, targets: targets.value });
    if (!r.ok) return r;
    roots = r.value.roots;
    pre = r.value.pre;
    indexUrl ??= r.value.indexUrl;
    warnings.push(...r.value.warnings);
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

  const fromDebian = await debianRoots({ sources: opts.debianSources ?? [], debian, suites: suites.map((x) => x.suite), onPhase: emitRun });
  if (!fromDebian.ok) return fromDebian;
  roots = [...roots, ...fromDebian.value.roots];

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
  for (const u of fromDebian.value.unresolved) unresolved.set(normalizeName(u.project), u);
  const plan = await planFiles({ res, roots, metadata, ...(useDebian ? { debian } : {}), defaultEnv, update: opts.update === true, unresolved });
  const { files, texts } = plan;
  warnings.push(...plan.warnings);

  // What would be written must pass `weld check` as a whole, before any of it is written.
  if (texts.size) {
    emitRun(`checking ${texts.size} file${texts.size === 1 ? '' : 's'} as weld check does`);
    const checked = await loadMetadata({ source: new OverlaySource(new WorkTreeSource(metadata.root, opts.cwd), texts), metaDir: metadata.metaDir, cacheDir: false, ...(opts.env ? { env: opts.env } : {}) });
    if (!checked.ok) {
      checked.error.hint = 'these are problems of the files weld import would write, checked before writing: nothing was written (weld import should write only valid files: please report this with the requirements)';
      return checked;
    }
  }
  if (!opts.dryRun) {
    for (const [file, text] of [...texts].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const abs = path.join(metadata.root, file);
      // a distro's first package makes its packages/ directory
      mkdirSync(path.dirname(abs), { recursive: true });
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
