import { UsageError, type WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import type { Digest } from '../store/digest.js';
import type { BuildRecord, EnvImageRecord, StoredRecord } from '../store/records.js';
import type { RemoteSettings } from '../store/remote/config.js';
import type { Remote } from '../store/remote/remote.js';
import type { Store } from '../store/store.js';
import type { ParsedArgs } from './args.js';
import { formatBytes, json, plural, table } from './format.js';
import type { CliIO } from './io.js';
import path from 'node:path';
import { checkDistroFile } from '../metadata/distro-file.js';
import { findProject } from '../metadata/project.js';
import { formatPath, parseTomlFile } from '../metadata/toml.js';
import type { StoreSection } from '../store/remote/config.js';
import { remoteFromArgs } from './store-args.js';
import { isEnvRecordTag, parseRecordTag, TAG_KINDS, tagKind, type TagKind } from '../store/remote/layout.js';

// `weld store push`, `weld store pull`, `weld store remote ls`: the store and its remote on
// an OCI registry (README, "A shared store"). The remote comes from --store-remote,
// $WELD_STORE_REMOTE or [store] remote; trusted keys from [store] trusted_keys.

type Outcome = Promise<Result<void, WeldError>>;

/**
 * `[store]` of metadata/weld.toml, read alone as the store's path is (store/location.ts):
 * store verbs work while the rest of the metadata is broken. No project: undefined.
 */
function readStoreSection(io: CliIO): Result<StoreSection | undefined, WeldError> {
  const project = findProject({ cwd: io.cwd, env: io.env });
  if (!project.ok) return ok(undefined);
  const file = path.join(project.value.root, project.value.metaDir, 'weld.toml');
  const parsed = parseTomlFile(file);
  if (!parsed) return ok(undefined);
  if (!parsed.ok) return err(new UsageError(`${file}:${parsed.position.line}:${parsed.position.col}: ${parsed.message}`, 'fix weld.toml (`weld check` reports every problem)'));
  const problems: Parameters<typeof checkDistroFile>[0]['problems'] = [];
  const draft = checkDistroFile({ file, doc: parsed.doc, problems });
  const bad = problems.find((p) => p.path[0] === 'store');
  if (bad) return err(new UsageError(`${file}: ${formatPath(bad.path)}: ${bad.message}`, 'fix [store] in weld.toml (`weld check` shows where)'));
  return ok(draft.store);
}

/** The remote settings with weld.toml's [store] when there is metadata to read; connected. */
async function connect(args: ParsedArgs, io: CliIO, verb: string): Promise<Result<{ remote: Remote; settings: RemoteSettings }, WeldError>> {
  const section = readStoreSection(io);
  if (!section.ok) return section;
  const settings = await remoteFromArgs(args, io, section.value ? { section: section.value } : {});
  if (!settings.ok) return settings;
  if (!settings.value) return err(new UsageError(`weld store ${verb}: no store remote is configured`, 'set [store] remote = "oci://HOST[:PORT]/REPO" in metadata/weld.toml, or WELD_STORE_REMOTE, or pass --store-remote'));
  const { connectRemote } = await import('../store/remote/remote.js');
  const remote = await connectRemote({ ...settings.value.config, concurrency: 6 });
  if (!remote.ok) return remote;
  return ok({ remote: remote.value, settings: settings.value });
}

/**
 * `push <pkg>…`: every build record of those packages; `--composes`: every compose (image
 * composes as images, wheelhouses as signed records of their files); `--all`: every build
 * and test record, the env images and the composes.
 */
export async function pushCmd(store: Store, pkgs: string[], args: ParsedArgs, io: CliIO): Outcome {
  const all = args.options['all'] === true;
  const composes = all || args.options['composes'] === true;
  if (all && pkgs.length > 0) return err(new UsageError('weld store push: name packages or pass --all, not both', 'usage: weld store push <package>… | --composes | --all'));
  if (!all && !composes && pkgs.length === 0) return err(new UsageError('weld store push: name the packages whose builds to push, or pass --composes or --all', 'usage: weld store push <package>… | --composes | --all'));
  const listed = await store.listRecords();
  if (!listed.ok) return listed;
  const wanted = new Set(pkgs);
  const records: StoredRecord[] = [];
  const envs: Array<{ id: string; record: EnvImageRecord }> = [];
  const composed: Array<StoredRecord<'compose'>> = [];
  for (const r of listed.value) {
    if (!r.ok || r.value.broken) continue;
    const v = r.value;
    if (v.kind === 'env' && all) envs.push({ id: v.id, record: v.data as EnvImageRecord });
    if (v.kind === 'compose' && composes) composed.push(v as StoredRecord<'compose'>);
    if (v.kind !== 'build' && v.kind !== 'test') continue;
    if (all || (v.kind === 'build' && wanted.has((v.data as BuildRecord).package))) records.push(v);
  }
  // A matrix's images before the index over them (which would push them itself).
  composed.sort((a, b) => Number(!a.id.includes('@')) - Number(!b.id.includes('@')) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const missing = pkgs.filter((p) => !records.some((r) => (r.data as BuildRecord).package === p));
  if (missing.length) return err(new UsageError(`weld store push: no builds of ${missing.join(', ')} in the store at ${store.path}`, 'build them first (`weld build`), or check the name with `weld store ls --records`'));
  if (composes && !all && pkgs.length === 0 && composed.length === 0) return err(new UsageError(`weld store push: no composes in the store at ${store.path}`, 'make one with `weld compose image` or `weld compose wheelhouse`'));
  const connected = await connect(args, io, 'push');
  if (!connected.ok) return connected;
  const { remote } = connected.value;
  const { Pusher } = await import('../store/remote/push.js');
  const pusher = new Pusher(remote, store);
  try {
    const failures: string[] = [];
    const results = await Promise.all([...records.map((r) => pusher.pushRecord(r)), ...envs.map((e) => pusher.pushEnvImage(e))]);
    for (const c of composed) results.push(await pusher.pushCompose(c));
    for (const r of results) if (!r.ok) failures.push(r.error.message);
    const rep = pusher.report;
    if (args.options['json']) io.stdout.write(json({ remote: remote.config.url.text, ...rep, failures }));
    else {
      io.stdout.write(`pushed ${plural(rep.pushed.length, 'tag')} to ${remote.config.url.text} (${plural(rep.blobsUploaded, 'blob')}, ${formatBytes(rep.bytesUploaded)} sent; ${rep.blobsPresent} blobs and ${rep.present.length} tags there already)\n`);
    }
    if (failures.length) {
      const first = results.find((r) => !r.ok);
      return first && !first.ok ? err(first.error) : ok(undefined);
    }
    return ok(undefined);
  } finally {
    await remote.client.close();
  }
}

/** `pull <pkg>…|--all`: records the remote holds (of those packages), with their blobs, each verified. */
export async function pullCmd(store: Store, pkgs: string[], args: ParsedArgs, io: CliIO): Outcome {
  const all = args.options['all'] === true;
  if (all === pkgs.length > 0) return err(new UsageError(all ? 'weld store pull: name packages or pass --all, not both' : 'weld store pull: name the packages whose builds to pull, or pass --all', 'usage: weld store pull <package>… | --all'));
  const connected = await connect(args, io, 'pull');
  if (!connected.ok) return connected;
  const { remote } = connected.value;
  try {
    const listing = await listRemote(remote);
    if (!listing.ok) return listing;
    const wanted = new Set(pkgs);
    const picked = listing.value.filter((e) => (e.kind === 'build' || e.kind === 'test') && (all || (e.kind === 'build' && wanted.has(e.package ?? ''))));
    const missing = pkgs.filter((p) => !picked.some((e) => e.package === p));
    if (missing.length) return err(new UsageError(`weld store pull: ${remote.config.url.text} has no builds of ${missing.join(', ')}`, 'see what it has with `weld store remote ls`'));
    const have = await store.withIndex('which records are here', async (s) => ({ build: await s.hasMany('build', picked.map((e) => e.id)), test: await s.hasMany('test', picked.map((e) => e.id)) }));
    if (!have.ok) return have;
    const todo = picked.filter((e, i) => !(e.kind === 'build' ? have.value.build[i] : have.value.test[i]));
    const { Puller } = await import('../store/remote/pull.js');
    const puller = new Puller(remote, store);
    let blobs = 0;
    let bytes = 0;
    const refused: WeldError[] = [];
    for (const kind of ['build', 'test'] as const) {
      const ids = todo.filter((e) => e.kind === kind).map((e) => e.id as Digest);
      for (const r of await puller.pullMany(kind, ids)) {
        if (!r.ok) refused.push(r.error);
        else {
          blobs += r.value?.blobsFetched ?? 0;
          bytes += r.value?.bytesFetched ?? 0;
        }
      }
    }
    for (const e of refused) io.stderr.write(`weld: warning: ${e.message}\n`);
    const pulled = todo.length - refused.length;
    if (args.options['json']) io.stdout.write(json({ remote: remote.config.url.text, pulled, present: picked.length - todo.length, refused: refused.map((e) => e.toJSON()), blobs, bytes }));
    else io.stdout.write(`pulled ${plural(pulled, 'record')} from ${remote.config.url.text} (${plural(blobs, 'blob')}, ${formatBytes(bytes)}; ${picked.length - todo.length} here already${refused.length ? `; ${refused.length} refused` : ''})\n`);
    return refused.length ? err(refused[0]!) : ok(undefined);
  } finally {
    await remote.client.close();
  }
}

export interface RemoteEntry {
  tag: string;
  kind: TagKind | 'other';
  id: string;
  /** a record's package or a compose's name, from the manifest's annotation: unsigned, for listing only (a pull checks the signed record) */
  package?: string;
}

/** `remote ls` lists these groups in this order, then tags weld did not make. */
const GROUPS: ReadonlyArray<RemoteEntry['kind']> = [...TAG_KINDS, 'other'];

async function listRemote(remote: Remote): Promise<Result<RemoteEntry[], WeldError>> {
  const tags = await remote.client.tags();
  if (!tags.ok) return tags;
  const pLimit = (await import('p-limit')).default;
  const limit = pLimit(8);
  const entries = await Promise.all(
    tags.value.sort().map((tag) =>
      limit(async (): Promise<RemoteEntry> => {
        const kind = tagKind(tag) ?? 'other';
        const rec = parseRecordTag(tag);
        const signedEnv = isEnvRecordTag(tag);
        if ((kind === 'env' && !signedEnv) || kind === 'image') return { tag, kind, id: '', package: /^[a-z]+-(.+)-[0-9a-f]{12}$/.exec(tag)![1]! };
        if (kind !== 'wheelhouse' && !signedEnv && !rec) return { tag, kind, id: '' };
        const m = await remote.client.getManifest(tag);
        let name: string | undefined;
        let id = rec?.id ?? '';
        if (m.ok && m.value) {
          try {
            const a = (JSON.parse(m.value.body.toString('utf8')) as { annotations?: Record<string, string> }).annotations;
            name = a?.['vnd.weld.package'] ?? a?.['vnd.weld.compose'] ?? a?.['vnd.weld.env'];
            if (!rec) id = a?.['vnd.weld.record.id'] ?? '';
          } catch {
            name = undefined;
          }
        }
        return { tag, kind, id, ...(typeof name === 'string' ? { package: name } : {}) };
      }),
    ),
  );
  return ok(entries.sort((a, b) => GROUPS.indexOf(a.kind) - GROUPS.indexOf(b.kind) || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0)));
}

/** `remote ls`: what the remote holds, one tag a line. */
export async function remoteLs(args: ParsedArgs, io: CliIO): Outcome {
  const connected = await connect(args, io, 'remote ls');
  if (!connected.ok) return connected;
  const { remote } = connected.value;
  try {
    const listing = await listRemote(remote);
    if (!listing.ok) return listing;
    if (args.options['json']) io.stdout.write(json(listing.value));
    else if (listing.value.length) io.stdout.write(table(listing.value.map((e) => [e.kind, e.package ?? '', e.tag])));
    return ok(undefined);
  } finally {
    await remote.client.close();
  }
}
