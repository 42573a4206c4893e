import { WeldError } from '../../core/errors.js';

// One class per way the registry remote can refuse or fail; `code` is stable for --json and tests.

/** `[store] remote` / WELD_STORE_REMOTE / --store-remote is not an oci://HOST[:PORT]/REPO URL. */
export class RemoteUrlError extends WeldError {
  readonly code = 'E_REMOTE_URL';
  constructor(readonly input: string, readonly where: string, reason: string) {
    super(`${where}: ${JSON.stringify(input.length > 120 ? input.slice(0, 120) + '…' : input)} is not a store remote: ${reason}`);
    this.hint = 'write oci://HOST[:PORT]/REPO, e.g. oci://registry.example.com/weld/cache or oci://127.0.0.1:5000/weld';
  }
}

/** The registry could not be reached, timed out, or answered something that is not the distribution API. */
export class RemoteUnavailableError extends WeldError {
  readonly code = 'E_REMOTE_UNAVAILABLE';
  constructor(readonly remote: string, reason: string, hint?: string, /** the registry's token service, not the registry, is what failed */ readonly tokenService = false) {
    super(`store remote ${remote}: ${reason}`);
    this.hint = hint ?? 'check that the registry is up and the URL is right; with plain HTTP to a local registry, set tls_verify = false (or pass --tls-verify=false)';
  }
}

/** The registry refused our credentials, or asked for some and none were found. */
export class RemoteAuthError extends WeldError {
  readonly code = 'E_REMOTE_AUTH';
  constructor(readonly remote: string, reason: string) {
    super(`store remote ${remote}: ${reason}`);
    const host = /^oci:\/\/([^/]+)/.exec(remote)?.[1] ?? 'HOST';
    this.hint = `log in as podman does (\`podman login ${host}\`), or put the credentials in $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json or ~/.docker/config.json`;
  }
}

/** The registry answered a request with an error status we cannot go on from. */
export class RemoteProtocolError extends WeldError {
  readonly code = 'E_REMOTE_PROTOCOL';
  constructor(readonly remote: string, readonly request: string, readonly status: number, body: string) {
    super(`store remote ${remote}: ${request} answered ${status}${body ? `: ${body.length > 300 ? body.slice(0, 300) + '…' : body}` : ''}`);
  }
}

/** What the registry holds under a tag is not a weld record manifest, or is malformed. */
export class RemoteManifestError extends WeldError {
  readonly code = 'E_REMOTE_MANIFEST';
  constructor(readonly remote: string, readonly ref: string, reason: string) {
    super(`store remote ${remote}: ${ref}: ${reason}; it was not taken`);
    this.hint = 'something other than weld pushed that tag, or an older weld did; remove it from the registry or push it again with `weld store push`';
  }
}

/** A pulled record is unsigned, signed by a key not in trusted_keys, or its signature fails. */
export class UntrustedRecordError extends WeldError {
  readonly code = 'E_REMOTE_UNTRUSTED';
  constructor(readonly remote: string, readonly ref: string, readonly keyIds: string[], reason: string) {
    super(`store remote ${remote}: ${ref}: ${reason}; the record was refused`);
    this.hint = keyIds.length
      ? `if you trust the key ${keyIds.join(', ')}, add its public key (\`weld key public\` on the machine that holds it) to [store] trusted_keys in metadata/weld.toml`
      : 'records are taken only when signed by a key in [store] trusted_keys: the machine that pushes needs a key (`weld key generate`)';
  }
}

/** A blob from the registry did not hash to its digest (or was cut short); nothing was stored. */
export class RemoteBlobError extends WeldError {
  readonly code = 'E_REMOTE_BLOB';
  constructor(readonly remote: string, readonly digest: string, reason: string) {
    super(`store remote ${remote}: blob ${digest}: ${reason}; nothing was stored`);
    this.hint = 'the registry holds damaged content: push the record again from a good store (`weld store push`), or delete the tag';
  }
}

/** A signing or public key file is missing, unreadable, or not an ed25519 key of weld's format. */
export class KeyError extends WeldError {
  readonly code = 'E_KEY';
  constructor(readonly where: string, reason: string, hint?: string) {
    super(`${where}: ${reason}`);
    this.hint = hint ?? 'make a key with `weld key generate [NAME]`; a public key is written NAME:BASE64 (what `weld key public` prints)';
  }
}

/** What the store holds cannot be pushed as it is: an image manifest that does not parse, a compose record without its tree. */
export class PushSourceError extends WeldError {
  readonly code = 'E_PUSH_SOURCE';
  constructor(readonly what: string, reason: string, hint?: string) {
    super(`weld store push: ${what}: ${reason}; it was not pushed`);
    this.hint = hint ?? 'run `weld store verify` to check the store, then compose it again';
  }
}
