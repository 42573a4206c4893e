import type { WeldError } from '../../core/errors.js';
import { err, ok, type Result } from '../../core/result.js';
import { PushSourceError } from './errors.js';
import type { EnvImageRecord, StoredRecord } from '../records.js';
import type { Store } from '../store.js';
import type { RemoteSettings } from './config.js';
import type { PushReport } from './push.js';

/**
 * Pushes the compose records named (`image/<name>`, `image/<name>@<target>`,
 * `wheelhouse/<name>`) as `weld store push --composes` does, in the order given: a
 * matrix's images before the index over them. What a compose step calls with `push = true`.
 */
export async function pushComposeRecords(o: { settings: RemoteSettings; store: Store; recordIds: string[] }): Promise<Result<PushReport & { remote: string }, WeldError>> {
  const records: Array<StoredRecord<'compose'>> = [];
  for (const id of o.recordIds) {
    const r = await o.store.getRecord('compose', id);
    if (!r.ok) return r;
    if (!r.value) return err(new PushSourceError(`compose ${id}`, 'the store has no such compose record', 'compose it again; `weld store ls --records` lists what the store has'));
    records.push(r.value);
  }
  const { connectRemote } = await import('./remote.js');
  const remote = await connectRemote(o.settings.config);
  if (!remote.ok) return remote;
  try {
    const { Pusher } = await import('./push.js');
    const pusher = new Pusher(remote.value, o.store);
    for (const r of records) {
      const pushed = await pusher.pushCompose(r);
      if (!pushed.ok) return pushed;
    }
    return ok({ ...pusher.report, remote: remote.value.config.url.text });
  } finally {
    await remote.value.client.close();
  }
}

/**
 * Pushes env images as `weld store push --all` does (each as the image, then its signed
 * record by its lock): what `weld env compose` calls with `push = true`.
 */
export async function pushEnvImages(o: { settings: RemoteSettings; store: Store; images: Array<{ id: string; record: EnvImageRecord }> }): Promise<Result<PushReport & { remote: string }, WeldError>> {
  const { connectRemote } = await import('./remote.js');
  const remote = await connectRemote(o.settings.config);
  if (!remote.ok) return remote;
  try {
    const { Pusher } = await import('./push.js');
    const pusher = new Pusher(remote.value, o.store);
    for (const image of o.images) {
      const pushed = await pusher.pushEnvImage(image);
      if (!pushed.ok) return pushed;
    }
    return ok({ ...pusher.report, remote: remote.value.config.url.text });
  } finally {
    await remote.value.client.close();
  }
}
