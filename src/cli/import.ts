import { UsageError } from '../core/errors.js';
import { err, ok } from '../core/result.js';
import type { ImportEvent } from '../import/events.js';
import type { ImportSummary, SourceKind } from '../import/import.js';
import { ImportUnresolvedError } from '../import/errors.js';
import type { VerbModule } from './commands.js';
import { eventLines } from './event-lines.js';
import { plural } from './format.js';
import type { CliIO } from './io.js';
import { openFromArgs } from './metadata-args.js';

export const spec: VerbModule['spec'] = {
  description:
    'Resolves the requirements (pins, ranges, extras, markers, -r/-c includes, --hash) and the\n' +
    'closure of their run-time requirements, each to a version from the first source that has\n' +
    "one: the Debian source packages of the builder envs' suites, then the --index-url simple\n" +
    'index. Writes metadata/packages/<name>.toml for each one the distro lacks (and a pack for\n' +
    "each native library Debian's Build-Depends name), checked as weld check does first.\n" +
    '`weld import debian <source>…` does the same from Debian source package names.',
  options: {
    'index-url': { type: 'string', value: '<url>', description: 'a PEP 503/691 simple index of sdists (e.g. https://pypi.org/simple)' },
    sources: { type: 'string', value: '<list>', description: 'where to look, in order: debian, index (default: debian,index; index only with an index URL)' },
    suite: { type: 'string', value: '<suites>', description: "more Debian suites to look in after the envs' own, comma-separated (files from them say suite = …)" },
    update: { type: 'boolean', description: 'rewrite package files that exist (default: leave them alone)' },
    'dry-run': { type: 'boolean', description: 'print the files that would be written, write nothing' },
    jobs: { type: 'string', short: 'j', value: '<n>', description: 'lookups and downloads at once (default 8)' },
    json: { type: 'boolean', description: 'print events and the summary as JSON lines' },
    metadata: { type: 'string', value: '<dir>', description: 'the metadata directory (default: ./metadata, searched upwards)' },
  },
  positionals: [{ name: 'requirements.txt', variadic: true }],
  examples: ['weld import requirements.txt', 'weld import --index-url https://pypi.org/simple requirements.txt', 'weld import debian python-toml pyyaml', 'weld import --dry-run requirements.txt'],
};

function printSummary(s: ImportSummary, io: CliIO): void {
  for (const f of s.files) {
    if (s.dryRun && f.status !== 'unchanged') io.stdout.write(`--- ${f.file} (${f.status === 'new' ? 'would be written' : 'would be updated'})\n${f.text}`);
  }
  for (const f of s.files) io.stdout.write(`${f.package} ${f.version}: ${s.dryRun ? 'would be ' : ''}${f.status === 'new' ? 'imported' : f.status === 'updated' ? 'updated' : 'unchanged'} from ${f.from} (${f.file})\n`);
  for (const p of s.present) io.stdout.write(`${p.package} ${p.version}: already present${p.note ? ` (${p.note})` : ''}\n`);
  for (const u of s.unresolved) io.stdout.write(`${u.project}${u.wanted}: unresolved: ${u.why}${u.by.length ? ` [${u.by.join('; ')}]` : ''}\n`);
  for (const w of s.warnings) io.stderr.write(`weld import: warning: ${w}\n`);
  io.stdout.write(
    `${s.dryRun ? 'dry run: ' : ''}${plural(s.imported, 'package')} imported, ${s.updated} updated, ${s.unchanged} unchanged, ${s.present.length} already present, ${s.unresolved.length} unresolved\n`,
  );
}

export const run: VerbModule['run'] = async (args, io) => {
  let files = args.positionals;
  let debianSources: string[] = [];
  if (files[0] === 'debian') {
    debianSources = files.slice(1);
    files = [];
    if (!debianSources.length) return err(new UsageError('weld import debian: name the Debian source packages to import', 'usage: weld import debian <source>…'));
  } else if (!files.length) {
    return err(new UsageError('weld import: name a requirements file (or: weld import debian <source>…)', 'usage: weld import <requirements.txt>…'));
  }
  const sourcesFlag = args.options['sources'];
  let sources: SourceKind[] | undefined;
  if (typeof sourcesFlag === 'string') {
    const list = sourcesFlag.split(',').map((s) => s.trim());
    const bad = list.find((s) => s !== 'debian' && s !== 'index');
    if (bad !== undefined || list.length === 0) return err(new UsageError(`weld import: --sources takes debian and index, comma-separated, not "${bad ?? sourcesFlag}"`));
    sources = [...new Set(list)] as SourceKind[];
  }
  const indexUrl = args.options['index-url'];
  if (typeof indexUrl === 'string' && !/^https?:\/\/[^\s]+$/.test(indexUrl)) return err(new UsageError(`weld import: --index-url must be an http(s) URL, not "${indexUrl}"`));
  const jobs = args.options['jobs'] === undefined ? undefined : Number(args.options['jobs']);
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1)) return err(new UsageError(`weld import: --jobs must be a whole number of at least 1, not "${args.options['jobs']}"`));
  const suiteFlag = args.options['suite'];
  const extraSuites = typeof suiteFlag === 'string' ? suiteFlag.split(',').map((s) => s.trim()).filter(Boolean) : [];
  const badSuite = extraSuites.find((s) => !/^[a-z0-9][a-z0-9.-]*$/.test(s));
  if (badSuite !== undefined) return err(new UsageError(`weld import: "${badSuite}" is not a Debian suite name`));
  const loaded = await openFromArgs(args, io);
  if (!loaded.ok) return loaded;
  const json = args.options['json'] === true;
  const lines = json ? eventLines(io) : undefined;
  const { importProjects } = await import('../import/import.js');
  try {
    const r = await importProjects({
      metadata: loaded.value,
      requirements: files,
      debianSources,
      cwd: io.cwd,
      env: io.env,
      ...(typeof indexUrl === 'string' ? { indexUrl } : {}),
      ...(sources ? { sources } : {}),
      extraSuites,
      update: args.options['update'] === true,
      dryRun: args.options['dry-run'] === true,
      ...(jobs ? { jobs } : {}),
      onEvent: lines ? lines.write : (e: ImportEvent) => io.stderr.write(`${e.subject ? e.subject.name : 'weld import'}: ${'detail' in e.data ? e.data.detail : e.data.message}\n`),
    });
    if (!r.ok) {
      if (r.error instanceof ImportUnresolvedError && !json) printSummary(r.error.summary as ImportSummary, io);
      return r;
    }
    if (lines) lines.summary({ data: { ...r.value, files: r.value.files.map(({ text: _text, ...f }) => (r.value.dryRun ? { ...f, text: _text } : f)) } });
    else printSummary(r.value, io);
    return ok(r.value);
  } finally {
    lines?.end();
  }
};
