import { findComposed, type ComposedImage } from '../envs/compose.js';
import type { RunnerContext } from './runner.js';

/** The env's composed image in the store, or why there is none (what a podman runner, local or remote, builds in). */
export type EnvImage = { ok: true; composed: ComposedImage } | { ok: false; arch: string; problem: string };

export async function findEnvImage(opts: { context: RunnerContext; env: string }): Promise<EnvImage> {
  const { metadata, store } = opts.context;
  const e = metadata.envs.get(opts.env);
  if (!e) return { ok: false, arch: metadata.distro.arch, problem: `env "${opts.env}" is not in the metadata` };
  const composed = store ? await findComposed({ env: e, store }) : undefined;
  if (!composed) return { ok: false, arch: e.arch, problem: `env "${opts.env}" has no image for its lock in the store: run \`weld env fetch ${opts.env} && weld env compose ${opts.env}\`` };
  return { ok: true, composed };
}

/** What a podman runner reports before builds start: the image manifest digest names every byte of the build environment. */
export function podmanInfo(opts: { img: EnvImage; env: string }): { arch: string; envImage: Record<string, unknown>; warnings: string[]; unavailable?: string } {
  const { img, env } = opts;
  if (!img.ok) return { arch: img.arch, envImage: { runner: 'podman', env, manifest: null }, warnings: [img.problem], unavailable: img.problem };
  return { arch: img.composed.arch, envImage: { runner: 'podman', env, manifest: img.composed.record.manifest }, warnings: [] };
}
