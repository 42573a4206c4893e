import type { Digest } from '../../store/digest.js';

// The image config of a compose: the runtime env's config (arch, os, Env, WorkingDir,
// its labels) with one more layer, the compose's command and labels naming what went
// in. Every time in it is the fixed one, so the same inputs give the same digest.

interface History {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

interface BaseConfig {
  architecture?: string;
  variant?: string;
  os?: string;
  created?: string;
  config?: { Env?: string[]; Cmd?: string[]; Entrypoint?: string[]; WorkingDir?: string; Labels?: Record<string, string> } & Record<string, unknown>;
  rootfs?: { type?: string; diff_ids?: string[] };
  history?: History[];
}

export const LABELS = {
  revision: 'org.opencontainers.image.revision',
  manifest: 'dev.weld.manifest',
  compose: 'dev.weld.compose',
  dirty: 'dev.weld.dirty',
} as const;

export function composedConfig(opts: {
  base: Buffer;
  layer: Digest;
  compose: string;
  env: string;
  cmd?: string[];
  /** the metadata commit; null outside git */
  revision: string | null;
  /** the work tree differed from that commit */
  dirty: boolean;
  manifest: Digest;
  mtime: number;
  wheels: number;
}): Buffer {
  const base = JSON.parse(opts.base.toString('utf8')) as BaseConfig;
  const created = new Date(opts.mtime * 1000).toISOString();
  const baseLayers = base.rootfs?.diff_ids ?? [];
  // History, when present, has one entry per layer: make the base's up if it has none.
  const history: History[] = base.history ?? baseLayers.map(() => ({ ...(base.created ? { created: base.created } : {}), created_by: `weld env compose ${opts.env}` }));
  const labels: Record<string, string> = {
    ...(base.config?.Labels ?? {}),
    [LABELS.compose]: opts.compose,
    [LABELS.manifest]: opts.manifest,
    ...(opts.revision ? { [LABELS.revision]: opts.revision } : {}),
    ...(opts.dirty ? { [LABELS.dirty]: 'true' } : {}),
  };
  const config = {
    architecture: base.architecture,
    ...(base.variant ? { variant: base.variant } : {}),
    os: base.os ?? 'linux',
    created,
    config: { ...(base.config ?? {}), ...(opts.cmd ? { Cmd: opts.cmd } : {}), Labels: sortKeys(labels) },
    rootfs: { type: 'layers', diff_ids: [...baseLayers, opts.layer] },
    history: [...history, { created, created_by: `weld compose image ${opts.compose}`, comment: `${opts.wheels} wheel${opts.wheels === 1 ? '' : 's'} installed` }],
  };
  return Buffer.from(JSON.stringify(config));
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
