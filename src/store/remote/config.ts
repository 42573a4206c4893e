import { err, ok, type Result } from '../../core/result.js';
import type { KeyError, RemoteUrlError } from './errors.js';
import { findSigningKey, trustedKeys } from './keys.js';
import type { RemoteConfig } from './remote.js';
import { parseRemoteUrl } from './url.js';

/** `[store]` of weld.toml as the metadata validated it. */
export interface StoreSection {
  remote?: string;
  push?: boolean;
  trustedKeys?: string[];
  tlsVerify?: boolean;
}

export interface RemoteSettings {
  config: RemoteConfig;
  /** push what this machine builds (`[store] push`) */
  push: boolean;
  /** where the URL came from, for messages */
  from: '--store-remote' | 'WELD_STORE_REMOTE' | 'weld.toml';
}

/**
 * The store remote of a command: --store-remote, else $WELD_STORE_REMOTE, else [store]
 * remote; TLS off with --tls-verify=false or tls_verify = false. None configured is
 * undefined, not an error: a store works alone.
 */
export async function resolveRemote(opts: {
  section?: StoreSection;
  env: NodeJS.ProcessEnv;
  flags?: { storeRemote?: string; tlsVerify?: boolean; signingKey?: string; push?: boolean };
  timeoutMs?: number;
}): Promise<Result<RemoteSettings | undefined, RemoteUrlError | KeyError>> {
  const f = opts.flags ?? {};
  const fromEnv = opts.env['WELD_STORE_REMOTE'];
  const [text, from] = f.storeRemote ? [f.storeRemote, '--store-remote' as const] : fromEnv ? [fromEnv, 'WELD_STORE_REMOTE' as const] : opts.section?.remote ? [opts.section.remote, 'weld.toml' as const] : [undefined, undefined];
  if (text === undefined || from === undefined) return ok(undefined);
  const url = parseRemoteUrl(text, from === 'weld.toml' ? '[store] remote' : from);
  if (!url.ok) return err(url.error);
  const trusted = trustedKeys(opts.section?.trustedKeys ?? []);
  if (!trusted.ok) return trusted;
  const key = await findSigningKey({ ...(f.signingKey ?? opts.env['WELD_SIGNING_KEY'] ? { explicit: (f.signingKey ?? opts.env['WELD_SIGNING_KEY'])! } : {}), env: opts.env });
  if (!key.ok) return key;
  const tlsVerify = f.tlsVerify ?? (opts.env['WELD_TLS_VERIFY'] === 'false' ? false : (opts.section?.tlsVerify ?? true));
  const config: RemoteConfig = { url: url.value, tlsVerify, trusted: trusted.value, env: opts.env, ...(key.value ? { signingKey: key.value } : {}), ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) };
  return ok({ config, push: f.push ?? opts.section?.push ?? false, from });
}
