import { UsageError } from '../core/errors.js';
import { err, ok } from '../core/result.js';
import { METADATA_OPTIONS } from './args.js';
import type { VerbModule } from './commands.js';
import { json, plural, table } from './format.js';
import { openFromArgs } from './metadata-args.js';
import { packageNames } from './package-names.js';
import { isMatrix } from '../metadata/targets.js';

export const spec: VerbModule['spec'] = {
  description:
    'Checks the metadata, then prints the build order: step by step, each package after everything\n' +
    'it requires; packages in one step can build in parallel. With packages named, only those and\n' +
    'what they need.',
  options: {
    ...METADATA_OPTIONS,
    json: { type: 'boolean', description: 'print {order, steps, edges} as JSON' },
    dot: { type: 'boolean', description: 'print a Graphviz digraph (edges point from a package to what it requires)' },
  },
  positionals: [{ name: 'package', variadic: true }],
  examples: ['weld graph', 'weld graph pyyaml jinja2', 'weld graph --dot | dot -Tsvg > graph.svg'],
};

export const run: VerbModule['run'] = async (args, io) => {
  if (args.options['json'] && args.options['dot']) return err(new UsageError('weld graph: --json and --dot exclude each other; pick one'));
  const loaded = await openFromArgs(args, io);
  if (!loaded.ok) return loaded;
  const md = loaded.value;
  let graph = md.graph;
  if (args.positionals.length) {
    const targets = packageNames({ verb: 'graph', typed: args.positionals, metadata: md });
    if (!targets.ok) return targets;
    graph = graph.subgraph(targets.value);
  }
  const steps = graph.steps();
  const matrix = isMatrix(md);
  if (args.options['json']) {
    io.stdout.write(json({ order: steps.flat(), steps, edges: Object.fromEntries(graph.nodes.map((n) => [n, graph.requires(n)])), targets: Object.fromEntries(graph.nodes.map((n) => [n, md.packages.get(n)!.targets])) }));
  } else if (args.options['dot']) {
    const lines = ['digraph weld {', '  rankdir=BT;'];
    for (const n of graph.nodes) {
      const label = matrix ? ` label="${n}\\n${md.packages.get(n)!.targets.join(' ')}"` : '';
      lines.push(`  "${n}" [shape=${md.packages.get(n)?.kind === 'pack' ? 'box' : 'ellipse'}${label}];`);
      for (const d of graph.requires(n)) lines.push(`  "${n}" -> "${d}";`);
    }
    io.stdout.write(lines.join('\n') + '\n}\n');
  } else {
    io.stdout.write(`Build order for ${md.distro.name}: ${plural(graph.nodes.length, 'package')} in ${plural(steps.length, 'step')}${matrix ? `, for ${plural(md.distro.targets.length, 'target')} (each builds the packages it lists, in this order)` : ''}\n`);
    const rows = [['STEP', 'PACKAGE', 'VERSION', 'REQUIRES', ...(matrix ? ['TARGETS'] : [])]];
    steps.forEach((s, i) => {
      for (const name of s) {
        const p = md.packages.get(name)!;
        rows.push([String(i + 1), name, `${p.version}-${p.release}`, graph.requires(name).join(', '), ...(matrix ? [p.targets.length === md.distro.targets.length ? 'all' : p.targets.join(', ')] : [])]);
      }
    });
    io.stdout.write(table(rows));
  }
  return ok(undefined);
};
