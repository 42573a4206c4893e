import { formatDiagnostic } from '../core/diagnostics.js';
import { MetadataInvalidError, UsageError, WeldError } from '../core/errors.js';
import { closest } from '../util/suggest.js';
import { formatHelp, parseCommandArgs } from './args.js';
import { VERBS } from './commands.js';
import type { CliIO } from './io.js';
import { weldVersion as version } from './version.js';

// The only place that prints errors and decides exit codes:
// 0 success, 1 the work failed (bad metadata, failed build), 2 bad command line,
// 70 a bug in weld (something threw).

/** The exit status of a failed command: a usage error is the command line's fault. */
export function exitStatus(e: WeldError): 1 | 2 {
  return e instanceof UsageError ? 2 : 1;
}

function topHelp(): string {
  const width = Math.max(...VERBS.map((v) => v.name.length));
  return [
    'weld — a Git-native build system with a content-addressed binary store',
    '',
    'Usage: weld <verb> [options]',
    '',
    'Verbs:',
    ...VERBS.map((v) => `  ${v.name.padEnd(width)}  ${v.summary}`),
    '',
    'Options:',
    '  -h, --help     show help (also: weld <verb> --help)',
    '  -V, --version  print the version',
    '',
  ].join('\n');
}

function printError(e: WeldError, io: CliIO, json: boolean): void {
  if (json) {
    // one line, so a --json stream of events stays one JSON object per line
    io.stdout.write(JSON.stringify({ error: e.toJSON() }) + '\n');
    return;
  }
  if (e instanceof MetadataInvalidError) {
    for (const d of e.diagnostics) io.stderr.write(formatDiagnostic(d) + '\n');
  }
  io.stderr.write(`weld: error: ${e.message}\n`);
  if (e.hint) io.stderr.write(`weld: hint: ${e.hint}\n`);
}

/** Runs one command line and returns its exit status. */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const sub = first === 'help' ? rest[0] : undefined;
    if (sub === undefined) {
      io.stdout.write(topHelp());
      return first === undefined ? 2 : 0;
    }
    return run([sub, '--help'], io);
  }
  if (first === '--version' || first === '-V') {
    io.stdout.write(`weld ${version()}\n`);
    return 0;
  }
  const entry = VERBS.find((v) => v.name === first);
  if (!entry) {
    const option = first.startsWith('-');
    const what = option ? `unknown option ${first}` : `unknown verb "${first}"`;
    const guess = option ? closest(first.replace(/^-+/, ''), ['help', 'version']) : closest(first, VERBS.map((v) => v.name));
    const suggestion = guess ? `; did you mean ${option ? `--${guess}` : `"${guess}"`}?` : '';
    // An option before any verb is most often a verb's option put first.
    const hint = option ? `before a verb only --help and --version; a verb's options go after it (weld <verb> --help)` : `run 'weld --help' for the list of verbs`;
    printError(new UsageError(`${what}${suggestion}`, hint), io, false);
    return 2;
  }
  const mod = await entry.load();
  const spec = { name: entry.name, summary: entry.summary, ...mod.spec };
  const parsed = parseCommandArgs(spec, rest);
  if (!parsed.ok) {
    printError(parsed.error, io, false);
    return 2;
  }
  if (parsed.value.options['help']) {
    io.stdout.write(formatHelp(spec));
    return 0;
  }
  const outcome = await mod.run(parsed.value, io);
  if (outcome.ok) return 0;
  // A usage error is for the person typing, so it stays text even under --json.
  const status = exitStatus(outcome.error);
  printError(outcome.error, io, status !== 2 && parsed.value.options['json'] === true);
  return status;
}

export async function main(): Promise<void> {
  try {
    process.exitCode = await run(process.argv.slice(2), {
      stdout: process.stdout,
      stderr: process.stderr,
      cwd: process.cwd(),
      env: process.env,
    });
  } catch (e: unknown) {
    // A throw is a bug in weld, not a user error: show everything.
    process.stderr.write(`weld: internal error (please report): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 70;
  }
}
