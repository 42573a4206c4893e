import { ok } from '../core/result.js';
import { METADATA_OPTIONS } from './args.js';
import type { VerbModule } from './commands.js';
import { json } from './format.js';
import { REPAIR_DEFAULT } from '../metadata/repair-policy.js';
import { describeUpstream, packageJson } from './list.js';
import { openFromArgs } from './metadata-args.js';
import { packageNames } from './package-names.js';

export const spec: VerbModule['spec'] = {
  options: {
    ...METADATA_OPTIONS,
    json: { type: 'boolean', description: 'print the package as JSON' },
  },
  positionals: [{ name: 'package', required: true }],
  examples: ['weld show pyyaml', 'weld show MarkupSafe --json'],
};

export const run: VerbModule['run'] = async (args, io) => {
  const loaded = await openFromArgs(args, io);
  if (!loaded.ok) return loaded;
  const md = loaded.value;
  const named = packageNames({ verb: 'show', typed: args.positionals, metadata: md });
  if (!named.ok) return named;
  const name = named.value[0]!;
  const p = md.packages.get(name)!;
  const dependents = md.graph.dependents(name);
  const allDependents = md.graph.dependents(name, { transitive: true });
  if (args.options['json']) {
    io.stdout.write(json({ ...packageJson(p), dependents, allDependents }));
    return ok(undefined);
  }
  const rows: Array<[string, string]> = [
    ['name', p.displayName],
    ['version', `${p.version}-${p.release}`],
    ['kind', p.kind],
    ...(p.summary ? [['summary', p.summary] as [string, string]] : []),
    ...(p.license ? [['license', p.license] as [string, string]] : []),
    ...(p.homepage ? [['homepage', p.homepage] as [string, string]] : []),
    ['upstream', describeUpstream(p.upstream)],
    ['recipe', p.recipe],
    ['env', p.env],
    ['requires', p.requires.join(', ') || '-'],
    ['runtime', p.runtimeRequires.join(', ') || '-'],
    ['dependents', dependents.join(', ') || '-'],
    ...(allDependents.length > dependents.length ? [['all dependents', allDependents.join(', ')] as [string, string]] : []),
    ['vars', Object.entries(p.vars).map(([k, v]) => `${k}=${v}`).join(' ') || '-'],
    ...(p.kind === 'wheel' ? [['repair', repairShown(p.repair, md.distro.repairPolicy)] as [string, string]] : []),
    ['patches', p.patches.length ? p.patches.join('\n' + ' '.repeat(16)) : '-'],
    ['file', p.file],
  ];
  io.stdout.write(rows.map(([k, v]) => `${k.padEnd(14)}  ${v}`).join('\n') + '\n');
  return ok(undefined);
};

/** The wheel repair policy builds use (without `--repair-policy`), and where it comes from. */
function repairShown(own: string | undefined, distro: string | undefined): string {
  if (own) return `${own} ([build] repair)`;
  if (distro) return `${distro} ([distro] repair)`;
  return `${REPAIR_DEFAULT} (default)`;
}
