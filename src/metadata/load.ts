import { sortDiagnostics, type Diagnostic } from '../core/diagnostics.js';
import { MetadataInvalidError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import { cacheKey, readCache, writeCache } from './cache.js';
import { PackageGraph } from './graph.js';
import type { Metadata, MetadataData } from './model.js';
import { localUpstreamProblems } from './local-paths.js';
import { SnapshotSource, takeSnapshot, type Snapshot } from './snapshot.js';
import type { MetadataSource } from './source.js';

export interface LoadOptions {
  source: MetadataSource;
  /** the metadata directory inside the project root; default "metadata" */
  metaDir?: string;
  /** where validated metadata is cached; false to always validate */
  cacheDir?: string | false;
  /** for WELD_ALLOW_PATHS (directories local upstreams may come from) */
  env?: NodeJS.ProcessEnv;
}

/**
 * Reads the metadata, validates it (or reuses the cached result for identical
 * input), and returns the typed model with its build graph.
 */
export async function loadMetadata(opts: LoadOptions): Promise<Result<Metadata, MetadataInvalidError>> {
  const { source } = opts;
  const metaDir = opts.metaDir ?? 'metadata';
  const snapshot = await takeSnapshot({ source, metaDir });
  const key = opts.cacheDir ? cacheKey(snapshot, metaDir) : undefined;
  let data = opts.cacheDir && key ? readCache(opts.cacheDir, key) : undefined;
  if (!data) {
    // The validators and the TOML parser load only on a cache miss.
    const { validateMetadata } = await import('./validate.js');
    const validated = await validateMetadata({ source: new SnapshotSource(snapshot, source), metaDir });
    if (!validated.ok) return validated;
    data = validated.value;
    if (opts.cacheDir && key) writeCache(opts.cacheDir, key, data);
  }
  const outside = localUpstreamProblems({ root: source.root, packages: data.packages, ...(data.distro.allowPaths ? { allowPaths: data.distro.allowPaths } : {}), ...(opts.env ? { env: opts.env } : {}) });
  if (outside.length) return err(new MetadataInvalidError(await locateProblems({ problems: outside, snapshot, source })));
  return ok(hydrate(data, source, metaDir));
}

async function locateProblems(opts: { problems: Array<{ file: string; path: string[]; message: string }>; snapshot: Snapshot; source: MetadataSource }): Promise<Diagnostic[]> {
  const { Locator } = await import('./locate.js');
  return sortDiagnostics(
    opts.problems.map((p) => {
      const text = opts.snapshot.files.get(p.file);
      const at = typeof text === 'string' ? new Locator(text).find(p.path, 'value') : { line: 1, col: 1 };
      return { file: opts.source.display(p.file), ...at, severity: 'error' as const, message: p.message };
    }),
  );
}

function hydrate(data: MetadataData, source: MetadataSource, metaDir: string): Metadata {
  return {
    root: source.root,
    distro: data.distro,
    packages: new Map(data.packages.map((p) => [p.name, p])),
    envs: new Map(data.envs.map((e) => [e.name, e])),
    composes: new Map(data.composes.map((c) => [c.name, c])),
    recipes: data.recipes,
    graph: new PackageGraph(new Map(data.packages.map((p) => [p.name, p.requires]))),
    lock: data.lock,
    metaDir,
    provenance: () => source.provenance(),
    read: (file) => source.read(file),
  };
}
