import type { Digest } from '../core/digest.js';
import type { BuildRecord, TestRecord } from '../store/records.js';
import type { RemoteSettings } from '../store/remote/config.js';
import type { Remote } from '../store/remote/remote.js';
import type { Store } from '../store/store.js';
import { warningEvent, pushedEvent, type BuildListener } from './events.js';

/** What a substitution brought: shown with the package's line. */
export interface Substitution {
  remote: string;
  keyId: string;
  blobs: number;
  bytes: number;
}

/**
 * The store remote as a build session uses it: a look-up the local index missed asks the
 * registry; a hit is pulled into the store (pull.ts verifies it) and then is a local hit.
 * The registry is connected on first use; one that is down, slow or refuses us is warned
 * about once and not asked again in this session: the build goes on locally.
 */
export class SessionRemote {
  /** cache key → what its substitution fetched, for the executor's events and summary */
  readonly substituted = new Map<string, Substitution>();
  private connecting: Promise<Remote | undefined> | undefined;
  private down = false;

  constructor(
    readonly settings: RemoteSettings,
    private readonly store: Store,
    private readonly emit: BuildListener,
  ) {}

  private warn(message: string): void {
    this.emit(warningEvent(message));
  }

  private async connected(): Promise<Remote | undefined> {
    if (this.down) return undefined;
    if (!this.connecting) {
      this.connecting = import('../store/remote/remote.js').then(async ({ connectRemote }) => {
        const r = await connectRemote(this.settings.config);
        if (r.ok) return r.value;
        this.down = true;
        this.warn(`${r.error.message}; building locally without it${r.error.hint ? ` (${r.error.hint})` : ''}`);
        return undefined;
      });
    }
    return this.connecting;
  }

  /** The records of these keys the remote has, each pulled into the store; undefined for the rest. */
  async builds(keys: readonly Digest[]): Promise<Array<BuildRecord | undefined>> {
    return this.pullAll('build', keys);
  }

  async test(key: Digest): Promise<TestRecord | undefined> {
    return (await this.pullAll('test', [key]))[0];
  }

  private async pullAll<K extends 'build' | 'test'>(kind: K, keys: readonly Digest[]): Promise<Array<(K extends 'build' ? BuildRecord : TestRecord) | undefined>> {
    const remote = keys.length ? await this.connected() : undefined;
    if (!remote) return keys.map(() => undefined);
    const { Puller } = await import('../store/remote/pull.js');
    const puller = new Puller(remote, this.store);
    const results = await puller.pullMany(kind, keys);
    return results.map((r, i) => {
      const key = keys[i]!;
      if (!r.ok) {
        const e = r.error;
        // A refused record is a miss for that key only; a registry that stops answering is down for the session.
        if (e.code === 'E_REMOTE_UNAVAILABLE' || e.code === 'E_REMOTE_AUTH') {
          if (!this.down) this.warn(`${e.message}; building locally without it`);
          this.down = true;
        } else this.warn(`${e.message}${kind === 'build' ? '; it will be built here' : ''}`);
        return undefined;
      }
      if (!r.value) return undefined;
      if (kind === 'build') this.substituted.set(key, { remote: remote.config.url.text, keyId: (r.value.record as BuildRecord).origin?.keyId ?? '?', blobs: r.value.blobsFetched, bytes: r.value.bytesFetched });
      return r.value.record as K extends 'build' ? BuildRecord : TestRecord;
    });
  }

  /** Pushes what this session built (`push = true`); failures are warnings: the build itself succeeded. */
  async pushBuilt(records: BuildRecord[]): Promise<void> {
    if (!this.settings.push || records.length === 0) return;
    const remote = await this.connected();
    if (!remote) return;
    const { Pusher } = await import('../store/remote/push.js');
    const pusher = new Pusher(remote, this.store);
    const failures: string[] = [];
    await Promise.all(
      records.map(async (data) => {
        const r = await pusher.pushRecord({ kind: 'build', id: data.cacheKey, data });
        if (!r.ok) failures.push(`${data.package}: ${r.error.message}`);
      }),
    );
    for (const f of [...new Set(failures)]) this.warn(`push: ${f}`);
    const rep = pusher.report;
    this.emit(pushedEvent({ remote: remote.config.url.text, records: rep.pushed.length, present: rep.present.length, blobs: rep.blobsUploaded, bytes: rep.bytesUploaded }));
  }

  async close(): Promise<void> {
    const remote = await this.connecting;
    await remote?.client.close();
  }
}
