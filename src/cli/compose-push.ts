import type { Metadata } from '../metadata/model.js';
import type { Store } from '../store/store.js';
import type { ParsedArgs } from './args.js';
import { formatBytes, plural } from './format.js';
import type { CliIO } from './io.js';
import { remoteFromArgs } from './store-args.js';

// After `weld compose image|wheelhouse`, with `[store] push = true`: the compose goes to the
// store remote as `weld store push --composes` would push it. As after a build, a push that
// fails is a warning: the compose itself succeeded.

export async function pushComposed(o: { args: ParsedArgs; io: CliIO; metadata: Metadata; store: Store; name: string; recordIds: string[]; json: boolean }): Promise<void> {
  const warn = (m: string) => void o.io.stderr.write(`weld: warning: ${m}\n`);
  const settings = await remoteFromArgs(o.args, o.io, { metadata: o.metadata });
  if (!settings.ok) return warn(`store remote: ${settings.error.message}; ${o.name} was not pushed`);
  if (!settings.value?.push) return;
  const { pushComposeRecords } = await import('../store/remote/push-composes.js');
  const r = await pushComposeRecords({ settings: settings.value, store: o.store, recordIds: o.recordIds });
  if (!r.ok) return warn(`push: ${o.name}: ${r.error.message}${r.error.hint ? ` (${r.error.hint})` : ''}`);
  const rep = r.value;
  if (!o.json) o.io.stdout.write(`${o.name}: pushed ${plural(rep.pushed.length, 'tag')} to ${rep.remote} (${plural(rep.blobsUploaded, 'blob')}, ${formatBytes(rep.bytesUploaded)} sent; ${rep.blobsPresent} blobs and ${rep.present.length} tags there already)\n`);
}
