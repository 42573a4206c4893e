import { UsageError } from '../core/errors.js';
import { err } from '../core/result.js';
import { closest } from '../util/suggest.js';
import type { VerbModule } from './commands.js';
import * as image from './compose-image.js';
import * as wheelhouse from './compose-wheelhouse.js';

// Each sub-verb is a module with its own spec; `weld compose` takes the union of their
// options and refuses, per sub-verb, the ones that belong to the other.
const SUBVERBS: Record<string, VerbModule> = { wheelhouse, image };

export const spec: VerbModule['spec'] = {
  description:
    'Sub-verbs:\n' +
    '  wheelhouse [name]     the wheels of the compose\'s current builds (metadata/composes/<name>.toml,\n' +
    '                        default "default": every wheel package) as a pip index: wheels/, simple/ (PEP 503\n' +
    '                        HTML and PEP 691 JSON), PEP 658 metadata, manifest.json and a CycloneDX SBOM\n' +
    '  image [name]          the compose\'s wheels installed into its runtime env\'s image: an OCI archive,\n' +
    '                        put in the store and loaded into podman\n' +
    '\n' +
    'A compose uses the builds whose cache keys match the metadata now; a package without one is\n' +
    'an error naming the `weld build` that makes it. Same store and metadata, same bytes.',
  options: {
    ...image.spec.options,
    ...wheelhouse.spec.options,
    out: { type: 'string', value: '<path>', description: 'wheelhouse: the directory (default out/wheelhouse/<name>), replaced whole; image: the OCI archive (default out/images/<name>.oci.tar)' },
  },
  positionals: [
    { name: 'sub-verb', required: true },
    { name: 'name', variadic: true },
  ],
  examples: ['weld compose wheelhouse', 'weld compose wheelhouse --build --out /srv/wheels', 'weld compose wheelhouse --ref respin', ...(image.spec.examples ?? [])],
};

export const run: VerbModule['run'] = async (args, io) => {
  const [sub, ...rest] = args.positionals;
  const verb = SUBVERBS[sub ?? ''];
  if (!verb) {
    const names = Object.keys(SUBVERBS);
    const guess = closest(sub ?? '', names);
    return err(new UsageError(`weld compose: unknown sub-verb "${sub}"${guess ? `; did you mean "${guess}"?` : ''}`, `one of: ${names.join(', ')}`));
  }
  const misplaced = Object.keys(spec.options).find((o) => args.options[o] !== undefined && !(o in verb.spec.options));
  if (misplaced) return err(new UsageError(`weld compose ${sub}: --${misplaced} does not apply here`, `run 'weld compose --help' for which options go with which sub-verb`));
  if (rest.length > verb.spec.positionals.length) return err(new UsageError(`weld compose ${sub}: one compose at a time (got ${rest.join(', ')})`, `usage: weld compose ${sub} [name]`));
  return verb.run({ options: args.options, positionals: rest }, io);
};
