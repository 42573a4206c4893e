import { clip, quote } from '../core/diagnostics.js';
import { closest } from '../util/suggest.js';
import type { EnvDraft } from './env-file.js';
import type { MetadataSource } from './source.js';
import type { Drafts, FileState } from './validate.js';

// What the cross-file checks share: their context, and the check of a reference to an env.

export interface Ctx {
  drafts: Drafts;
  source: MetadataSource;
  state: (file: string) => FileState;
}

export const didYouMean = (name: string, candidates: string[]): string => {
  const g = closest(name, candidates);
  return g ? `did you mean ${quote(g)}? ` : '';
};

/** The context with the look-up every env reference needs, made once per check. */
export interface EnvCtx extends Ctx {
  envs: Map<string, EnvDraft>;
}

export function checkEnvRef(ctx: EnvCtx, opts: { file: string; path: Array<string | number>; env: string; want: 'builder' | 'runtime'; what: string }): void {
  const { drafts, state, envs } = ctx;
  const e = envs.get(opts.env);
  const problems = state(opts.file).problems;
  if (!e) {
    problems.push({
      path: opts.path,
      anchor: 'value',
      message: `${opts.what} ${quote(opts.env)} not found: no ${drafts.metaDir}/envs/${clip(opts.env)}.toml; ${didYouMean(opts.env, [...envs.keys()])}available: ${[...envs.keys()].join(', ') || 'none'}`,
    });
  } else if (e.kind && e.kind !== opts.want) {
    problems.push({
      path: opts.path,
      anchor: 'value',
      message: `${opts.what} ${quote(opts.env)} is a ${e.kind} env, but this needs a ${opts.want} env`,
    });
  }
}

