import path from 'node:path';
import { UsageError, type WeldError } from '../core/errors.js';
import type { RemoteSettings, StoreSection } from '../store/remote/config.js';
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

export const REMOTE_OPTIONS: Record<string, OptionSpec> = {
  'store-remote': { type: 'string', value: 'oci://HOST[:PORT]/REPO', description: 'the shared store on an OCI registry (default: $WELD_STORE_REMOTE, [store] remote in weld.toml)' },
  'tls-verify': { type: 'string', value: 'true|false', description: 'false: use a registry without valid TLS, or plain HTTP to a local one (as podman; default [store] tls_verify, true)' },
  'signing-key': { type: 'string', value: '<file>', description: 'the key records are signed with when pushed (default: $WELD_SIGNING_KEY, the one key in ~/.config/weld/keys)' },
};

/** --store-remote, --tls-verify, --signing-key with the environment and [store]: the remote, or undefined when none is set. */
export async function remoteFromArgs(args: ParsedArgs, io: CliIO, opts: { metadata?: Metadata; section?: StoreSection; push?: boolean; timeoutMs?: number }): Promise<Result<RemoteSettings | undefined, WeldError>> {
  const tls = args.options['tls-verify'];
  if (tls !== undefined && tls !== 'true' && tls !== 'false') return err(new UsageError(`--tls-verify takes true or false, not ${JSON.stringify(tls)}`, 'write --tls-verify=false for a registry on plain HTTP'));
  const remote = args.options['store-remote'];
  const key = args.options['signing-key'];
  const { resolveRemote } = await import('../store/remote/config.js');
  return resolveRemote({
    ...(opts.section ?? opts.metadata?.distro.store ? { section: (opts.section ?? opts.metadata?.distro.store)! } : {}),
    env: io.env,
    flags: {
      ...(typeof remote === 'string' ? { storeRemote: remote } : {}),
      ...(tls !== undefined ? { tlsVerify: tls === 'true' } : {}),
      ...(typeof key === 'string' ? { signingKey: path.resolve(io.cwd, key) } : {}),
      ...(opts.push !== undefined ? { push: opts.push } : {}),
    },
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  });
}
