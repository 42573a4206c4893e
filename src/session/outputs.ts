import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { writeTreeTar } from '../archive/tar-tree.js';
import type { Store } from '../store/store.js';
import type { BuildOutput } from '../store/records.js';

/** Collects a build's outputs into the store, or says why there are none. */
export async function storeOutputs(opts: { store: Store; kind: 'wheel' | 'pack'; outDir: string; sourceDateEpoch: number }): Promise<{ outputs: BuildOutput[] } | { reason: string }> {
  if (opts.kind === 'wheel') {
    const dir = path.join(opts.outDir, 'wheels');
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.whl')).sort();
    if (names.length === 0) return { reason: 'the recipe exited 0 but left no wheel in $WELD_OUT/wheels/' };
    const outputs: BuildOutput[] = [];
    for (const name of names) {
      const put = await opts.store.put({ file: path.join(dir, name) });
      if (!put.ok) return { reason: `could not store ${name}: ${put.error.message}` };
      outputs.push({ name, digest: put.value.digest, size: put.value.size });
    }
    return { outputs };
  }
  const prefix = path.join(opts.outDir, 'prefix');
  if (!(await stat(prefix).catch(() => undefined))?.isDirectory()) return { reason: 'the recipe exited 0 but left no $WELD_OUT/prefix/' };
  const tarball = path.join(opts.outDir, '..', 'prefix.tar');
  const made = await writeTreeTar({ dir: prefix, mtime: opts.sourceDateEpoch, file: tarball });
  if (!made.ok) return { reason: `could not pack $WELD_OUT/prefix: ${made.error.message}` };
  const put = await opts.store.put({ file: tarball });
  if (!put.ok) return { reason: `could not store the prefix: ${put.error.message}` };
  return { outputs: [{ name: 'prefix.tar', digest: put.value.digest, size: put.value.size }] };
}

/** Unpacks a stored prefix tarball for a dependent build; tar's complaint (if any) is the reason. */
export function extractTar(opts: { input: Readable; dest: string }): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('tar', ['-x', '-C', opts.dest], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    // tar stops at the end-of-archive blocks and may leave padding unread: a broken pipe is fine.
    child.stdin.on('error', () => undefined);
    opts.input.pipe(child.stdin);
    const finish = (problem: string | undefined) => {
      // Otherwise the blob's file handle stays open until garbage collection.
      opts.input.destroy();
      resolve(problem);
    };
    child.on('error', (e) => finish(e.message));
    child.on('close', (code) => finish(code === 0 ? undefined : stderr.trim() || `tar exited with status ${code}`));
  });
}
