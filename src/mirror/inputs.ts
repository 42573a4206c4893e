import { createHash } from 'node:crypto';
import type { Metadata, Package } from '../metadata/model.js';

/**
 * The digest of everything a package's mirror is made from: its upstream pin,
 * version, release, the Debian suite for Debian upstreams, and each distro patch's
 * name and content. The lock records it; a different digest means the lock is stale.
 */
export async function inputsDigest(opts: { metadata: Metadata; pkg: Package }): Promise<string> {
  const { metadata, pkg } = opts;
  const patches: Array<[string, string]> = [];
  for (const file of pkg.patches) {
    const text = (await metadata.read(file)) ?? '';
    patches.push([file.slice(file.lastIndexOf('/') + 1), createHash('sha256').update(text).digest('hex')]);
  }
  const suite = pkg.upstream.kind === 'debian' ? (pkg.upstream.suite ?? metadata.envs.get(pkg.env)?.suite) : undefined;
  const canonical = JSON.stringify({ v: 1, version: pkg.version, release: pkg.release, upstream: pkg.upstream, suite: suite ?? null, patches });
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}
