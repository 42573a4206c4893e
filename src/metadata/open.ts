import path from 'node:path';
import type { WeldError } from '../core/errors.js';
import { err, type Result } from '../core/result.js';
import { loadMetadata } from './load.js';
import type { Metadata } from './model.js';
import { findProject } from './project.js';
import { WorkTreeSource, type MetadataSource } from './source.js';

export interface OpenMetadataOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** the metadata directory; default: found from cwd */
  metadata?: string;
  /** a git branch, tag or commit to read instead of the work tree */
  ref?: string;
  /** reuse validated metadata for identical input (default true; kept in <root>/.weld/cache) */
  cache?: boolean;
}

/** Finds the project, picks the work tree or a git ref, and loads and validates the metadata. */
export async function openMetadata(opts: OpenMetadataOptions): Promise<Result<Metadata, WeldError>> {
  const project = findProject(opts);
  if (!project.ok) return project;
  const { root, metaDir } = project.value;
  let source: MetadataSource;
  if (opts.ref !== undefined) {
    const { GitRefSource } = await import('./git-source.js');
    const opened = await GitRefSource.open({ root, ref: opts.ref });
    if (!opened.ok) return err(opened.error);
    source = opened.value;
  } else {
    source = new WorkTreeSource(root, opts.cwd);
  }
  return loadMetadata({ source, metaDir, ...(opts.env ? { env: opts.env } : {}), cacheDir: opts.cache === false ? false : path.join(root, '.weld', 'cache', 'metadata') });
}
