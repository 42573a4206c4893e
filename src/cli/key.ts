import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../core/errors.js';
import { err, ok } from '../core/result.js';
import { closest } from '../util/suggest.js';
import type { VerbModule } from './commands.js';
import { json } from './format.js';

// `weld key generate [NAME]` and `weld key public [NAME|FILE]`: the ed25519 keys records
// pushed to a store remote are signed with (src/store/remote/keys.ts has the format).

const SUBVERBS = ['generate', 'public'] as const;

export const spec: VerbModule['spec'] = {
  description:
    'Sub-verbs:\n' +
    '  generate [NAME]        make a signing key NAME (default: this host\'s name) and print its public key\n' +
    '  public [NAME|FILE]     print the public key line of a signing key, for [store] trusted_keys\n' +
    '\n' +
    'Keys live in $WELD_KEYS_DIR, else $XDG_CONFIG_HOME/weld/keys, else ~/.config/weld/keys:\n' +
    'NAME.key (secret, mode 0600) and NAME.pub. A push signs with $WELD_SIGNING_KEY (or\n' +
    '--signing-key), else the one key there. Other machines take its records once its public\n' +
    'key (NAME:BASE64) is in [store] trusted_keys of metadata/weld.toml.',
  options: {
    dir: { type: 'string', value: '<dir>', description: 'where the keys are (default: as above)' },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  positionals: [
    { name: 'sub-verb', required: true },
    { name: 'name', variadic: true },
  ],
  examples: ['weld key generate ci-s390x-1', 'weld key public', 'weld key public ~/.config/weld/keys/ci-s390x-1.key'],
};

export const run: VerbModule['run'] = async (args, io) => {
  const [sub, ...rest] = args.positionals;
  if (!(SUBVERBS as readonly string[]).includes(sub ?? '')) {
    const guess = closest(sub ?? '', SUBVERBS);
    return err(new UsageError(`weld key: unknown sub-verb "${sub}"${guess ? `; did you mean "${guess}"?` : ''}`, `one of: ${SUBVERBS.join(', ')}`));
  }
  if (rest.length > 1) return err(new UsageError(`weld key ${sub}: one key at a time (got ${rest.length})`));
  const keys = await import('../store/remote/keys.js');
  const dirFlag = args.options['dir'];
  const dir = typeof dirFlag === 'string' ? path.resolve(io.cwd, dirFlag) : keys.keysDir(io.env);
  if (sub === 'generate') {
    const name = rest[0] ?? os.hostname().toLowerCase().replace(/[^a-z0-9._-]/g, '-').slice(0, 64);
    const made = await keys.generateKey({ dir, name });
    if (!made.ok) return made;
    if (args.options['json']) io.stdout.write(json({ name, public: made.value.publicLine, secretFile: made.value.secretFile, publicFile: made.value.publicFile }));
    else
      io.stdout.write(
        `${made.value.publicLine}\n` +
          `secret key: ${made.value.secretFile} (keep it; records pushed from this machine are signed with it)\n` +
          `trust it elsewhere: add the line above to [store] trusted_keys in metadata/weld.toml\n`,
      );
    return ok(undefined);
  }
  const which = rest[0];
  const loaded =
    which === undefined
      ? await keys.findSigningKey({ env: { ...io.env, WELD_KEYS_DIR: dir }, ...(io.env['WELD_SIGNING_KEY'] ? { explicit: io.env['WELD_SIGNING_KEY'] } : {}) })
      : await keys.loadSigningKey(which.includes('/') || which.endsWith('.key') ? path.resolve(io.cwd, which) : path.join(dir, `${which}.key`));
  if (!loaded.ok) return loaded;
  if (!loaded.value) {
    const { KeyError } = await import('../store/remote/errors.js');
    return err(new KeyError(dir, 'no signing key here'));
  }
  io.stdout.write(args.options['json'] ? json({ name: loaded.value.name, public: loaded.value.publicLine }) : `${loaded.value.publicLine}\n`);
  return ok(undefined);
};
