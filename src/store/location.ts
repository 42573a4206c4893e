import path from 'node:path';
import { err, ok, type Result } from '../core/result.js';
import { findProject } from '../metadata/project.js';
import { isTable, parseTomlFile } from '../metadata/toml.js';
import { StorePathError } from './errors.js';

export interface StoreLocation {
  path: string;
  /** where the path came from, for `weld store info` and error messages */
  from: '--store' | 'WELD_STORE' | 'weld.toml' | 'default';
}

/**
 * --store, then WELD_STORE, then `[paths] store` of metadata/weld.toml (relative to the
 * project root), then ./store. Without validated metadata only that one key is read: a store command must work
 * while the rest of the metadata is broken.
 */
export function resolveStoreLocation(opts: { cwd: string; env: NodeJS.ProcessEnv; store?: string; metadata?: { root: string; storePath?: string } }): Result<StoreLocation, StorePathError> {
  if (opts.store) return ok({ path: path.resolve(opts.cwd, opts.store), from: '--store' });
  const fromEnv = opts.env['WELD_STORE'];
  if (fromEnv) return ok({ path: path.resolve(opts.cwd, fromEnv), from: 'WELD_STORE' });
  // Validated metadata already holds the key: no second read of weld.toml.
  if (opts.metadata) {
    const { root, storePath } = opts.metadata;
    return ok(storePath !== undefined ? { path: path.resolve(root, storePath), from: 'weld.toml' } : { path: path.join(root, 'store'), from: 'default' });
  }
  const project = findProject({ cwd: opts.cwd, env: opts.env });
  if (project.ok) {
    const file = path.join(project.value.root, project.value.metaDir, 'weld.toml');
    const configured = readStoreKey(file);
    if (!configured.ok) return configured;
    if (configured.value !== undefined) return ok({ path: path.resolve(project.value.root, configured.value), from: 'weld.toml' });
    return ok({ path: path.join(project.value.root, 'store'), from: 'default' });
  }
  return ok({ path: path.resolve(opts.cwd, 'store'), from: 'default' });
}

function readStoreKey(file: string): Result<string | undefined, StorePathError> {
  const parsed = parseTomlFile(file);
  if (!parsed) return ok(undefined);
  if (!parsed.ok) {
    return err(new StorePathError(file, `cannot read [paths] store: ${file}:${parsed.position.line}:${parsed.position.col}: ${parsed.message}`, 'fix weld.toml, or pass --store <dir> / set WELD_STORE'));
  }
  const paths = parsed.doc['paths'];
  if (paths === undefined) return ok(undefined);
  const store = isTable(paths) ? paths['store'] : undefined;
  if (!isTable(paths) || (store !== undefined && (typeof store !== 'string' || store === ''))) {
    return err(new StorePathError(file, '[paths] store must be a non-empty string (a directory relative to the project root)', 'fix weld.toml, or pass --store <dir> / set WELD_STORE'));
  }
  return ok(store);
}
