import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { err, ok, type Result } from '../core/result.js';
import { StoreIOError } from './errors.js';

/**
 * Makes written files durable together: `sync -f` (syncfs(2) of their filesystem) in one
 * call, or an fsync of each where that is not available. An fsync per file costs ~1 ms
 * of journal commit each, and tripled bulk ingest's time.
 */
export async function syncFiles(files: readonly string[]): Promise<Result<void, StoreIOError>> {
  if (files.length === 0) return ok(undefined);
  const viaSyncfs = await new Promise<boolean>((resolve) => {
    execFile('sync', ['-f', files[0]!], (e) => resolve(e === null));
  });
  if (viaSyncfs) return ok(undefined);
  for (const file of files) {
    try {
      const fh = await open(file, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (e: unknown) {
      return err(new StoreIOError(file, (e as Error).message));
    }
  }
  return ok(undefined);
}
