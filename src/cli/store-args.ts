import type { WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import { resolveStoreLocation, type StoreLocation } from '../store/location.js';
import type { Metadata } from '../metadata/model.js';
import type { Store } from '../store/store.js';
import type { OptionSpec, ParsedArgs } from './args.js';
import type { CliIO } from './io.js';

export const STORE_OPTION: Record<string, OptionSpec> = {
  store: { type: 'string', value: '<dir>', description: 'the content store (default: $WELD_STORE, [paths] store in weld.toml, ./store)' },
};

/** --store → location → open, telling the user when another weld holds the index. */
export async function openStoreFromArgs(args: ParsedArgs, io: CliIO, opts: { create: boolean; metadata?: Metadata }): Promise<Result<{ store: Store; where: StoreLocation }, WeldError>> {
  const flag = args.options['store'];
  const metadata = opts.metadata ? { metadata: { root: opts.metadata.root, ...(opts.metadata.distro.storePath !== undefined ? { storePath: opts.metadata.distro.storePath } : {}) } } : {};
  const where = resolveStoreLocation({ cwd: io.cwd, env: io.env, ...(typeof flag === 'string' ? { store: flag } : {}), ...metadata });
  if (!where.ok) return where;
  // LevelDB and the store load only when a store is really needed.
  const { openStore } = await import('../store/store.js');
  const opened = await openStore({
    path: where.value.path,
    create: opts.create,
    onWait: (holder) => io.stderr.write(`weld: store in use by ${holder}, waiting…\n`),
  });
  if (!opened.ok) return err(opened.error);
  return ok({ store: opened.value, where: where.value });
}
