import { FIXED_MTIME } from '../archive/tar-write.js';
import { archInfo } from '../podman/arch.js';
import type { Digest } from '../store/digest.js';

// The config of an env's image, as canonical JSON so the same lock gives
// the same digest everywhere; the manifest and layout are src/archive/oci.ts's.

/**
 * Bumped when the layers or config this code writes change for the same lock.
 * 2: the debs in LAYER_BUCKETS layers by package name, then weld's own (was one layer).
 */
export const COMPOSER_VERSION = 2;

export function imageConfig(opts: { env: string; arch: string; layers: Digest[]; lock: Digest }): Buffer {
  const a = archInfo(opts.arch);
  const config = {
    architecture: a.oci,
    ...(a.variant ? { variant: a.variant } : {}),
    os: 'linux',
    created: new Date(FIXED_MTIME * 1000).toISOString(),
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8'],
      Cmd: ['/bin/bash'],
      WorkingDir: '/',
      Labels: { 'dev.weld.env': opts.env, 'dev.weld.lock': opts.lock, 'dev.weld.composer': String(COMPOSER_VERSION) },
    },
    rootfs: { type: 'layers', diff_ids: opts.layers },
  };
  return Buffer.from(JSON.stringify(config));
}

/** What podman calls the image of an env: `weld-env/<env>:<first 12 hex of the manifest digest>`. */
export function imageTag(opts: { env: string; manifest: Digest }): string {
  return `weld-env/${opts.env}:${opts.manifest.slice('sha256:'.length, 'sha256:'.length + 12)}`;
}
