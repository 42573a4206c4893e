import { isDigest, type Digest } from '../store/digest.js';
import type { EnvImageRecord, StoredRecord } from '../store/records.js';
import type { RemoteSettings } from '../store/remote/config.js';
import type { Store } from '../store/store.js';
import type { Env } from '../metadata/model.js';
import { emitterFor } from '../core/events.js';
import type { EnvEvent, EnvListener } from './events.js';

/** What a substitution brought: where from, whose signature, what it fetched. */
export interface EnvSubstitution {
  remote: string;
  keyId: string;
  blobs: number;
  bytes: number;
}

/**
 * The store remote as env images use it: an image the store lacks for a lock is looked up
 * by its record's id (`env-<sha256 of the id>`), and a trusted hit is pulled — record and
 * blobs, verified as pull.ts verifies builds — instead of fetching the debs and composing.
 * A refused record (unsigned, untrusted, tampered) and a registry that is down are warnings
 * (`fallback` says what happens instead); one that is down is not asked again by this
 * substituter. Each look-up connects and closes: it happens once per env and command.
 */
export class EnvSubstituter {
  private down = false;

  constructor(private readonly o: { settings: RemoteSettings; store: Store }) {}

  get remote(): string {
    return this.o.settings.config.url.text;
  }

  /** The record now in the store (with its origin), or undefined: not there, refused, or the remote is down. */
  async substitute(opts: { env: Env; id: string; fallback: string; onEvent?: EnvListener }): Promise<{ record: EnvImageRecord; substitution: EnvSubstitution } | undefined> {
    if (this.down) return undefined;
    const event = emitterFor<EnvEvent>({ subject: { kind: 'env', name: opts.env.name }, listener: opts.onEvent });
    const warn = (message: string) => event('warning', { message });
    const { connectRemote } = await import('../store/remote/remote.js');
    const remote = await connectRemote(this.o.settings.config);
    if (!remote.ok) {
      this.down = true;
      warn(`${remote.error.message}; ${opts.fallback}`);
      return undefined;
    }
    try {
      event('phase', { detail: `looking for its image on ${this.remote}` });
      const { Puller } = await import('../store/remote/pull.js');
      const pulled = await new Puller(remote.value, this.o.store).pull('env', opts.id, { check: (r, store) => checkEnvRecord({ env: opts.env, id: opts.id, record: r, store }) });
      if (!pulled.ok) {
        const e = pulled.error;
        if (e.code === 'E_REMOTE_UNAVAILABLE' || e.code === 'E_REMOTE_AUTH') this.down = true;
        warn(`${e.message}; ${opts.fallback}`);
        return undefined;
      }
      if (!pulled.value) return undefined;
      const record = pulled.value.record as EnvImageRecord;
      const substitution = { remote: this.remote, keyId: record.origin?.keyId ?? '?', blobs: pulled.value.blobsFetched, bytes: pulled.value.bytesFetched };
      event('substituted', { ...substitution, manifest: record.manifest });
      return { record, substitution };
    } finally {
      await remote.value.client.close();
    }
  }
}

/**
 * What a signed env record must also be to stand for this env's lock: its env and lock are
 * the ones its id names, and its manifest (now in the store, verified) names exactly its
 * config and layers — so the image loaded is the one the record describes.
 */
async function checkEnvRecord(o: { env: Env; id: string; record: StoredRecord<'env'>; store: Store }): Promise<string | undefined> {
  const r = o.record.data;
  if (r.env !== o.env.name) return `the signed record is of env "${r.env}", not "${o.env.name}"`;
  if (!o.id.startsWith(`${r.env}@${r.lock.slice('sha256:'.length)}/`)) return `the signed record's lock ${r.lock} is not the one its id names`;
  if (r.arch !== o.env.arch) return `the signed record's image is for ${r.arch}, not ${o.env.arch}`;
  const s = await o.store.get(r.manifest);
  if (!s.ok) return `its image manifest ${r.manifest} is not in the store`;
  const chunks: Buffer[] = [];
  for await (const c of s.value) chunks.push(c as Buffer);
  let m: { config?: { digest?: unknown }; layers?: Array<{ digest?: unknown }> };
  try {
    m = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof m;
  } catch {
    return `its image manifest ${r.manifest} is not JSON`;
  }
  const layers = (m.layers ?? []).map((l) => l.digest);
  if (m.config?.digest !== r.config || !layers.every((d): d is Digest => isDigest(d)) || layers.join() !== r.layers.join()) return `its image manifest ${r.manifest} does not name the config and layers the record does`;
  return undefined;
}
