import { createHash } from 'node:crypto';
import type { Env } from '../metadata/model.js';

/**
 * The digest of what a lock is resolved from: suite, components, arch and the package
 * list (order-free). The lock records it; another digest means the env file changed.
 */
export function envInputsDigest(env: Pick<Env, 'suite' | 'components' | 'arch' | 'packages'>): string {
  const canonical = JSON.stringify({ v: 1, suite: env.suite, components: [...env.components].sort(), arch: env.arch, packages: [...env.packages].sort() });
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}
