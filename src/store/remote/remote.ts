import type { KeyObject } from 'node:crypto';
import { err, ok, type Result } from '../../core/result.js';
import { RegistryClient, type RemoteError } from './client.js';
import type { SigningKey } from './keys.js';
import { parseRemoteUrl, type RemoteUrl } from './url.js';
import type { RemoteUrlError } from './errors.js';

/** What a remote is opened with: the URL, TLS, who to trust, and (to push) who signs. */
export interface RemoteConfig {
  url: RemoteUrl;
  tlsVerify: boolean;
  /** key id → public key: the only signers whose records are taken */
  trusted: ReadonlyMap<string, KeyObject>;
  /** signs what is pushed; without it nothing can be pushed */
  signingKey?: SigningKey;
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** blobs moved at once (default 4) */
  concurrency?: number;
}

/** A connected remote: the client and the config it serves. */
export interface Remote {
  client: RegistryClient;
  config: RemoteConfig;
}

export async function connectRemote(config: RemoteConfig): Promise<Result<Remote, RemoteError>> {
  const client = await RegistryClient.connect({ remote: config.url, tlsVerify: config.tlsVerify, env: config.env, ...(config.timeoutMs !== undefined ? { timeoutMs: config.timeoutMs } : {}), connections: Math.max(8, (config.concurrency ?? 4) * 2) });
  if (!client.ok) return client;
  return ok({ client: client.value, config });
}

export function remoteUrl(text: string, where: string): Result<RemoteUrl, RemoteUrlError> {
  const u = parseRemoteUrl(text, where);
  return u.ok ? u : err(u.error);
}
