import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../src/cli/main.js';

const UP = path.resolve(import.meta.dirname, '../..');
/** The repository: two levels up from here, or three when compiled into dist/ (a benchmark that uses the helpers). */
export const REPO_ROOT = path.basename(UP) === 'dist' ? path.dirname(UP) : UP;

/** A throw-away copy of the sample project (metadata/ and recipes/) in a temp dir. */
export function sampleProject(): { root: string; cleanup: () => void } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'weld-project-'));
  for (const dir of ['metadata', 'recipes']) cpSync(path.join(REPO_ROOT, dir), path.join(root, dir), { recursive: true });
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Copies every file under `overlay` into `root`, keeping relative paths. */
export function applyOverlay(root: string, overlay: string, skip: string[] = []): void {
  for (const entry of readdirSync(overlay, { recursive: true, withFileTypes: false }) as string[]) {
    const from = path.join(overlay, entry);
    if (skip.includes(entry) || statSync(from).isDirectory()) continue;
    mkdirSync(path.dirname(path.join(root, entry)), { recursive: true });
    writeFileSync(path.join(root, entry), readFileSync(from));
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process, as `weld <argv>` started in `cwd`. */
export async function weld(argv: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    cwd: opts.cwd,
    env: opts.env ?? {},
  });
  return { code, stdout, stderr };
}
