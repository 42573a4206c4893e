import pLimit from 'p-limit';
import { err, ok, type Result } from '../core/result.js';
import type { WeldError } from '../core/errors.js';
import type { Env, EnvLock } from '../metadata/model.js';
import { debianMirrorFor } from '../mirror/debian/apt-sources.js';
import { download } from '../mirror/download.js';
import type { Digest } from '../store/digest.js';
import type { Store } from '../store/store.js';
import { DebianMirrorUnknownError } from './errors.js';
import type { EnvEvent, EnvListener } from './events.js';
import { emitterFor } from '../core/events.js';
import { requireFreshLock } from './fresh.js';

export interface FetchEnvOptions {
  env: Env;
  store: Store;
  processEnv?: NodeJS.ProcessEnv;
  /** parallel downloads (default 6: the mirror, not the CPU, is the limit) */
  concurrency?: number;
  onEvent?: EnvListener;
}

export interface FetchEnvResult {
  debs: number;
  downloaded: number;
  bytes: number;
}

/** The store root that keeps an env's debs through `weld store gc`. */
export const debsRoot = (env: string) => `env-debs/${env}`;

/** Every locked .deb into the store, verified against the lock; present ones are skipped. */
export async function fetchEnv(opts: FetchEnvOptions): Promise<Result<FetchEnvResult, WeldError>> {
  const { env, store } = opts;
  const fresh = requireFreshLock(env);
  if (!fresh.ok) return fresh;
  const lock: EnvLock = fresh.value;
  const mirror = debianMirrorFor({ suite: lock.suite, env: opts.processEnv ?? process.env });
  if (!mirror) return err(new DebianMirrorUnknownError(lock.suite));
  const event = emitterFor<EnvEvent>({ subject: { kind: 'env', name: env.name }, listener: opts.onEvent });
  const limit = pLimit(opts.concurrency ?? 6);
  const total = lock.debs.reduce((n, d) => n + d.size, 0);
  let doneBytes = 0;
  let doneDebs = 0;
  let downloaded = 0;
  let failure: WeldError | undefined;
  await Promise.all(
    lock.debs.map((d) =>
      limit(async () => {
        if (failure) return; // one failure is the verdict; do not start more transfers
        let seen = 0;
        const r = await download({
          url: `${mirror}/${d.path.split('/').map(encodeURIComponent).join('/')}`,
          expected: `sha256:${d.sha256}` as Digest,
          store,
          onProgress: (done) => {
            doneBytes += done - seen;
            seen = done;
            event('progress', { unit: 'bytes', done: doneBytes, total });
          },
        });
        if (!r.ok) {
          failure ??= r.error;
          return;
        }
        doneBytes += d.size - seen;
        doneDebs++;
        if (r.value.downloaded) downloaded++;
        event('fetched', { deb: d.name, downloaded: r.value.downloaded, bytes: d.size });
        event('progress', { unit: 'debs', done: doneDebs, total: lock.debs.length });
      }),
    ),
  );
  if (failure) return err(failure);
  const rooted = await store.setRoot({ name: debsRoot(env.name), digests: lock.debs.map((d) => `sha256:${d.sha256}` as Digest) });
  if (!rooted.ok) return rooted;
  return ok({ debs: lock.debs.length, downloaded, bytes: total });
}
