import { findComposed, type ComposedImage } from '../envs/compose.js';
import type { EnvEvent } from '../envs/events.js';
import type { EnvSubstituter } from '../envs/substitute.js';
import type { RunnerContext } from './runner.js';

/** The env's composed image in the store, or why there is none (what a podman runner, local or remote, builds in). */
export type EnvImage = { ok: true; composed: ComposedImage; warnings: string[] } | { ok: false; arch: string; problem: string; warnings: string[] };

/** One substituter per runner context: a store remote that is down is asked once, not once per env. */
const substituters = new WeakMap<RunnerContext, Promise<EnvSubstituter>>();

function substituterOf(context: RunnerContext): Promise<EnvSubstituter> | undefined {
  const { registry, store } = context;
  if (!registry || !store) return undefined;
  let s = substituters.get(context);
  if (!s) {
    s = import('../envs/substitute.js').then(({ EnvSubstituter }) => new EnvSubstituter({ settings: registry, store }));
    substituters.set(context, s);
  }
  return s;
}

/**
 * The env's image in the store; else, with a store remote, the one pushed there for its
 * lock (signed by a trusted key), pulled into the store. What went wrong on the remote
 * (refused, down) comes back as warnings; that it was substituted, as an event.
 */
export async function findEnvImage(opts: { context: RunnerContext; env: string }): Promise<EnvImage> {
  const { metadata, store } = opts.context;
  const e = metadata.envs.get(opts.env);
  if (!e) return { ok: false, arch: metadata.distro.arch, problem: `env "${opts.env}" is not in the metadata`, warnings: [] };
  const warnings: string[] = [];
  const onEvent = (ev: EnvEvent) => {
    if (ev.type === 'warning') warnings.push(ev.data.message);
    else if (ev.type === 'substituted') opts.context.onEnvEvent?.(ev);
  };
  const remote = await substituterOf(opts.context);
  const composed = store ? await findComposed({ env: e, store, ...(remote ? { remote, fallback: 'its env image is not taken from there', onEvent } : {}) }) : undefined;
  if (!composed) return { ok: false, arch: e.arch, problem: `env "${opts.env}" has no image for its lock in the store${remote ? ` or on ${remote.remote}` : ''}: run \`weld env fetch ${opts.env} && weld env compose ${opts.env}\``, warnings };
  return { ok: true, composed, warnings };
}

/** What a podman runner reports before builds start: the image manifest digest names every byte of the build environment. */
export function podmanInfo(opts: { img: EnvImage; env: string }): { arch: string; envImage: Record<string, unknown>; warnings: string[]; unavailable?: string } {
  const { img, env } = opts;
  if (!img.ok) return { arch: img.arch, envImage: { runner: 'podman', env, manifest: null }, warnings: [...img.warnings, img.problem], unavailable: img.problem };
  return { arch: img.composed.arch, envImage: { runner: 'podman', env, manifest: img.composed.record.manifest }, warnings: [...img.warnings] };
}
