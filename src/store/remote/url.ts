import { err, ok, type Result } from '../../core/result.js';
import { RemoteUrlError } from './errors.js';

/** A parsed `oci://HOST[:PORT]/REPO`. */
export interface RemoteUrl {
  /** as the user wrote it, for messages */
  text: string;
  /** host[:port], the key of auth files */
  registry: string;
  /** the repository path, e.g. weld/cache */
  repository: string;
}

// The distribution spec's repository name grammar (path components of lowercase
// alphanumerics joined by . _ __ - separators), and a host name or IP with an optional port.
const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;

export function parseRemoteUrl(input: string, where: string): Result<RemoteUrl, RemoteUrlError> {
  const bad = (reason: string) => err(new RemoteUrlError(input, where, reason));
  const s = input.trim();
  if (!s.startsWith('oci://')) return bad(/^[a-z]+:\/\//.test(s) ? `the scheme must be oci://, not ${s.slice(0, s.indexOf('://') + 3)}` : 'it must start with oci://');
  const rest = s.slice('oci://'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return bad('it names no repository after the host (oci://HOST[:PORT]/REPO)');
  const registry = rest.slice(0, slash);
  const repository = rest.slice(slash + 1).replace(/\/+$/, '');
  const host = HOST.exec(registry);
  if (!host) return bad(`"${registry}" is not a host name with an optional :port`);
  if (host[1] !== undefined && (Number(host[1]) < 1 || Number(host[1]) > 65535)) return bad(`port ${host[1]} is out of range`);
  if (/[?#@]/.test(repository)) return bad('the repository must not carry a query, a fragment, a tag or a digest');
  const parts = repository.split('/');
  const wrong = parts.find((p) => !COMPONENT.test(p));
  if (repository === '' || wrong !== undefined) return bad(`the repository "${repository}" is not a valid OCI repository name (lowercase letters, digits and . _ - between them, components joined by /)`);
  if (registry.length + 1 + repository.length > 255) return bad('the repository name is longer than 255 characters');
  return ok({ text: `oci://${registry}/${repository}`, registry, repository });
}
