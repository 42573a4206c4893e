import { existsSync } from 'node:fs';
import path from 'node:path';
import { MetadataNotFoundError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';

export interface ProjectLayout {
  /** absolute project root: the directory that holds the metadata directory and recipes/ */
  root: string;
  /** the metadata directory's name inside the root (normally "metadata") */
  metaDir: string;
}

/**
 * Finds the project from `--metadata <dir>` (the metadata directory itself), then
 * WELD_METADATA, then the nearest directory upwards from the cwd with
 * metadata/weld.toml, the way git finds .git.
 */
export function findProject(opts: { cwd: string; metadata?: string; env?: NodeJS.ProcessEnv }): Result<ProjectLayout, MetadataNotFoundError> {
  const given = opts.metadata ?? opts.env?.['WELD_METADATA'];
  if (given) {
    const dir = path.resolve(opts.cwd, given);
    if (!existsSync(path.join(dir, 'weld.toml'))) return err(new MetadataNotFoundError(dir, 'weld.toml'));
    return ok({ root: path.dirname(dir), metaDir: path.basename(dir) });
  }
  for (let dir = path.resolve(opts.cwd); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'metadata', 'weld.toml'))) return ok({ root: dir, metaDir: 'metadata' });
    if (path.dirname(dir) === dir) return err(new MetadataNotFoundError(opts.cwd, 'metadata/weld.toml'));
  }
}
