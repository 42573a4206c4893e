import { formatHelp, parseCommandArgs } from '../../src/cli/args.js';
import type { VerbModule } from '../../src/cli/commands.js';
import { exitStatus } from '../../src/cli/main.js';
import type { CliResult } from './project.js';

/**
 * Runs one verb module in-process the way src/cli/main.ts does (parse, run, print the
 * error, pick the exit status), for modules not yet in the verb registry.
 */
export async function runVerb(opts: { name: string; mod: VerbModule; argv: string[]; cwd: string; env?: NodeJS.ProcessEnv }): Promise<CliResult & { error?: { code: string; message: string; hint?: string } }> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, cwd: opts.cwd, env: opts.env ?? {} };
  const spec = { name: opts.name, summary: opts.name, ...opts.mod.spec };
  const parsed = parseCommandArgs(spec, opts.argv);
  if (!parsed.ok) return { code: 2, stdout, stderr: `weld: error: ${parsed.error.message}\n`, error: parsed.error.toJSON() as { code: string; message: string } };
  if (parsed.value.options['help']) return { code: 0, stdout: formatHelp(spec), stderr };
  const r = await opts.mod.run(parsed.value, io);
  if (r.ok) return { code: 0, stdout, stderr };
  stderr += `weld: error: ${r.error.message}\n${r.error.hint ? `weld: hint: ${r.error.hint}\n` : ''}`;
  return { code: exitStatus(r.error), stdout, stderr, error: r.error.toJSON() as { code: string; message: string; hint?: string } };
}
