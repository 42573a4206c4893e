import { ok } from '../core/result.js';
import { METADATA_OPTIONS } from './args.js';
import type { VerbModule } from './commands.js';
import { json, plural } from './format.js';
import { openFromArgs } from './metadata-args.js';

export const spec: VerbModule['spec'] = {
  description:
    'Reads every file under metadata/ (or the metadata at --ref) and reports all problems at once,\n' +
    'each as file:line:col. Exit status 1 when there is any error.',
  options: {
    ...METADATA_OPTIONS,
    json: { type: 'boolean', description: 'print the result (or the diagnostics) as JSON, with the metadata commit and dirty state' },
  },
  positionals: [],
  examples: ['weld check', 'weld check --ref respin-2', 'weld check --json'],
};

export const run: VerbModule['run'] = async (args, io) => {
  const loaded = await openFromArgs(args, io);
  if (!loaded.ok) return loaded;
  const md = loaded.value;
  const kinds = { wheel: 0, pack: 0 };
  for (const p of md.packages.values()) kinds[p.kind]++;
  if (args.options['json']) {
    io.stdout.write(
      json({
        ok: true,
        distro: md.distro.name,
        packages: md.packages.size,
        wheels: kinds.wheel,
        packs: kinds.pack,
        envs: md.envs.size,
        composes: md.composes.size,
        provenance: await md.provenance(),
      }),
    );
  } else {
    const at = typeof args.options['ref'] === 'string' ? ` at ${args.options['ref']}` : '';
    io.stdout.write(
      `ok: ${md.distro.name}${at}: ${plural(md.packages.size, 'package')} (${plural(kinds.wheel, 'wheel')}, ${plural(kinds.pack, 'pack')}), ` +
        `${plural(md.envs.size, 'env')}, ${plural(md.composes.size, 'compose')}\n`,
    );
  }
  return ok(undefined);
};
