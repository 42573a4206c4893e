import { UsageError } from '../core/errors.js';
import { err } from '../core/result.js';
import { closest } from '../util/suggest.js';
import { METADATA_OPTIONS } from './args.js';
import { RUNNER_OPTION } from './build-args.js';
import type { VerbModule } from './commands.js';
import { STORE_OPTION } from './store-args.js';

/** A sub-verb of `weld compose`: its own module, loaded on demand. */
export interface ComposeSubVerb {
  /** the options of `spec.options` that apply to it */
  options: string[];
  run: VerbModule['run'];
}

// `weld compose image` joins here: image: () => import('./compose-image.js'), its options
// added to spec.options below and its line to the description.
const SUBVERBS: Record<string, () => Promise<ComposeSubVerb>> = {
  wheelhouse: () => import('./compose-wheelhouse.js'),
};

export const spec: VerbModule['spec'] = {
  description:
    'Sub-verbs:\n' +
    '  wheelhouse [name]     the wheels of the compose\'s current builds (metadata/composes/<name>.toml,\n' +
    '                        default "default": every wheel package) as a pip index: wheels/, simple/ (PEP 503\n' +
    '                        HTML and PEP 691 JSON), PEP 658 metadata, manifest.json and a CycloneDX SBOM\n' +
    '\n' +
    'A compose uses the builds whose cache keys match the metadata now; a package without one is\n' +
    'an error naming the `weld build` that makes it (or pass --build). Same store and metadata,\n' +
    'same bytes.',
  options: {
    out: { type: 'string', value: '<dir>', description: 'where to write (default: out/wheelhouse/<name> in the project root); replaced whole' },
    build: { type: 'boolean', description: 'build what is missing first' },
    jobs: { type: 'string', short: 'j', value: '<n>', description: 'with --build: builds at once (default: the number of cores)' },
    json: { type: 'boolean', description: 'print the result as JSON' },
    ...RUNNER_OPTION,
    ...METADATA_OPTIONS,
    ...STORE_OPTION,
  },
  positionals: [
    { name: 'sub-verb', required: true },
    { name: 'name', variadic: true },
  ],
  examples: ['weld compose wheelhouse', 'weld compose wheelhouse --build --out /srv/wheels', 'weld compose wheelhouse --ref respin'],
};

export const run: VerbModule['run'] = async (args, io) => {
  const [sub, ...rest] = args.positionals;
  const load = SUBVERBS[sub ?? ''];
  if (!load) {
    const names = Object.keys(SUBVERBS);
    const guess = closest(sub ?? '', names);
    return err(new UsageError(`weld compose: unknown sub-verb "${sub}"${guess ? `; did you mean "${guess}"?` : ''}`, `one of: ${names.join(', ')}`));
  }
  const verb = await load();
  const misplaced = Object.keys(spec.options).find((o) => args.options[o] !== undefined && !verb.options.includes(o));
  if (misplaced) return err(new UsageError(`weld compose ${sub}: --${misplaced} does not apply here`, `run 'weld compose --help' for which options go with which sub-verb`));
  return verb.run({ options: args.options, positionals: rest }, io);
};
