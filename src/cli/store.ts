import type { Readable } from 'node:stream';
import { UsageError, type WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import { parseDigest, type Digest } from '../store/digest.js';
import { StoreInconsistentError } from '../store/errors.js';
import { listBlobs } from '../store/blobs.js';
import type { StoreLocation } from '../store/location.js';
import type { Store } from '../store/store.js';
import { closest } from '../util/suggest.js';
import type { ParsedArgs } from './args.js';
import type { VerbModule } from './commands.js';
import { formatBytes as human, json, plural, table } from './format.js';
import type { CliIO } from './io.js';
import { asArgument } from './package-names.js';
import { openStoreFromArgs, REMOTE_OPTIONS, STORE_OPTION } from './store-args.js';

const SUBVERBS = ['info', 'ls', 'cat', 'put', 'verify', 'gc', 'push', 'pull', 'remote'] as const;
type SubVerb = (typeof SUBVERBS)[number];

/** Which options each sub-verb takes, so a misplaced flag is reported, not ignored. */
const ALLOWED: Record<SubVerb, string[]> = {
  info: ['json'],
  ls: ['json', 'records'],
  cat: [],
  put: ['json', 'expected'],
  verify: ['json', 'repair', 'quick'],
  gc: ['json', 'dry-run', 'grace'],
  push: ['json', 'all', 'composes', 'store-remote', 'tls-verify', 'signing-key'],
  pull: ['json', 'all', 'store-remote', 'tls-verify'],
  remote: ['json', 'store-remote', 'tls-verify'],
};

export const spec: VerbModule['spec'] = {
  description:
    'Sub-verbs:\n' +
    '  info              where the store is, how many blobs and bytes, how many records\n' +
    '  ls                every blob with its size (--records: every record)\n' +
    '  cat <digest>      write a blob to stdout\n' +
    '  put <file>…       add files; prints each digest\n' +
    '  verify            re-hash every blob, find records that lost blobs (--repair fixes)\n' +
    '  gc                remove blobs nothing refers to (--dry-run shows what would go)\n' +
    '  push <pkg>…|--composes|--all  push builds (--composes: composed images and wheelhouses; --all: every build\n' +
    '                    and test record, env images and composes) to the store remote, signed\n' +
    '  pull <pkg>…|--all take builds from the store remote: signatures checked, every blob verified\n' +
    '  remote ls         what the store remote holds, one tag a line\n' +
    '\n' +
    'The store is --store, else $WELD_STORE, else [paths] store in metadata/weld.toml, else ./store.\n' +
    'Digests are sha256:<64 hex>; bare 64 hex is accepted too.',
  options: {
    ...STORE_OPTION,
    ...REMOTE_OPTIONS,
    all: { type: 'boolean', description: 'push/pull: everything, not named packages' },
    composes: { type: 'boolean', description: 'push: the composes (images as images, wheelhouses as signed records of their files)' },
    json: { type: 'boolean', description: 'print the result as JSON' },
    records: { type: 'boolean', description: 'ls: list records instead of blobs' },
    expected: { type: 'string', value: '<digest>', description: 'put: refuse the file unless it has this digest' },
    repair: { type: 'boolean', description: 'verify: remove bad blobs and mark records that lost blobs broken' },
    quick: { type: 'boolean', description: 'verify: check presence only, do not re-hash blob contents' },
    'dry-run': { type: 'boolean', description: 'gc: print what would be removed and the bytes freed, remove nothing' },
    grace: { type: 'string', value: '<seconds>', description: 'gc: keep unreferenced blobs younger than this (default 900)' },
  },
  positionals: [
    { name: 'sub-verb', required: true },
    { name: 'arg', variadic: true },
  ],
  examples: ['weld store push --all', 'weld store pull pyyaml', 'weld store remote ls --store-remote oci://127.0.0.1:5000/weld --tls-verify=false', 'weld store info', 'weld store put dist/foo.whl', 'weld store cat sha256:2c26b4… > out', 'weld store verify --repair', 'weld store gc --dry-run'],
};

type Outcome = Promise<Result<void, WeldError>>;

export const run: VerbModule['run'] = async (args, io) => {
  const [sub, ...rest] = args.positionals;
  if (!(SUBVERBS as readonly string[]).includes(sub ?? '')) {
    const guess = closest(sub ?? '', SUBVERBS);
    return err(new UsageError(`weld store: unknown sub-verb "${sub}"${guess ? `; did you mean "${guess}"?` : ''}`, `one of: ${SUBVERBS.join(', ')}`));
  }
  const verb = sub as SubVerb;
  const misplaced = Object.keys(spec.options).find((o) => o !== 'store' && args.options[o] !== undefined && !ALLOWED[verb].includes(o));
  if (misplaced) return err(new UsageError(`weld store ${verb}: --${misplaced} does not apply here`, `run 'weld store --help' for which options go with which sub-verb`));
  if (verb === 'remote') {
    if (rest[0] !== 'ls' || rest.length > 1) return err(new UsageError(`weld store remote: ${rest[0] === undefined ? 'missing' : 'unknown'} sub-verb${rest[0] === undefined ? '' : ` "${rest[0]}"`}`, 'usage: weld store remote ls'));
    const { remoteLs } = await import('./store-remote.js');
    return remoteLs(args, io);
  }
  const wantsArgs = verb === 'cat' || verb === 'put';
  const takesPackages = verb === 'push' || verb === 'pull';
  if (!wantsArgs && !takesPackages && rest.length) return err(new UsageError(`weld store ${verb}: unexpected argument "${rest[0]}"`));
  if (wantsArgs && rest.length === 0) return err(new UsageError(`weld store ${verb}: missing ${verb === 'cat' ? '<digest>' : '<file>'}`, `usage: weld store ${verb} ${verb === 'cat' ? '<digest>' : '<file>…'}`));
  if (verb === 'cat' && rest.length > 1) return err(new UsageError(`weld store cat: one digest at a time (got ${rest.length})`));

  // Digests are checked before the store is opened (put creates it): bad input changes nothing.
  const digest = verb === 'cat' ? asArgument(parseDigest(rest[0]!, { where: 'weld store cat', bare: true })) : ok(undefined);
  if (!digest.ok) return digest;
  const expectedArg = args.options['expected'];
  if (typeof expectedArg === 'string' && rest.length !== 1) return err(new UsageError('weld store put: --expected goes with exactly one file'));
  const expected = typeof expectedArg === 'string' ? asArgument(parseDigest(expectedArg, { where: 'weld store put: --expected', bare: true })) : ok(undefined);
  if (!expected.ok) return expected;
  const grace = graceFromArgs(args);
  if (!grace.ok) return grace;
  const opened = await openStoreFromArgs(args, io, { create: verb === 'put' || verb === 'pull' });
  if (!opened.ok) return opened;
  const { store, where } = opened.value;
  switch (verb) {
    case 'info':
      return info(store, where, args, io);
    case 'ls':
      return args.options['records'] ? lsRecords(store, args, io) : lsBlobs(store, args, io);
    case 'cat':
      return cat(store, digest.value!, io);
    case 'put':
      return put(store, rest, expected.value, args, io);
    case 'verify':
      return verifyCmd(store, args, io);
    case 'gc':
      return gcCmd(store, grace.value, args, io);
    case 'push':
      return (await import('./store-remote.js')).pushCmd(store, rest, args, io);
    case 'pull':
      return (await import('./store-remote.js')).pullCmd(store, rest, args, io);
  }
};

async function info(store: Store, where: StoreLocation, args: ParsedArgs, io: CliIO): Outcome {
  let blobs = 0;
  let bytes = 0;
  for await (const e of listBlobs(store.layout)) {
    if (e.kind !== 'blob') continue;
    const s = await store.stat(e.digest);
    if (!s.ok) continue;
    blobs++;
    bytes += s.value.size;
  }
  const counts = await store.withIndex('info', (s) => s.counts());
  if (!counts.ok) return counts;
  const { broken, ...records } = counts.value;
  if (args.options['json']) {
    io.stdout.write(json({ path: store.path, from: where.from, blobs, bytes, records, brokenRecords: broken }));
    return ok(undefined);
  }
  io.stdout.write(
    table([
      ['path', `${store.path} (from ${where.from})`],
      ['blobs', `${blobs} (${human(bytes)})`],
      ['records', Object.entries(records).map(([k, n]) => `${n} ${k}`).join(', ') + (broken ? `; ${broken} broken` : '')],
    ]),
  );
  return ok(undefined);
}

async function lsBlobs(store: Store, args: ParsedArgs, io: CliIO): Outcome {
  const rows: Array<{ digest: string; size: number }> = [];
  for await (const e of listBlobs(store.layout)) {
    if (e.kind !== 'blob') continue;
    const s = await store.stat(e.digest);
    if (s.ok) rows.push({ digest: e.digest, size: s.value.size });
  }
  if (args.options['json']) io.stdout.write(json(rows));
  else if (rows.length) io.stdout.write(table(rows.map((r) => [r.digest, String(r.size)])));
  return ok(undefined);
}

async function lsRecords(store: Store, args: ParsedArgs, io: CliIO): Outcome {
  const listed = await store.listRecords();
  if (!listed.ok) return listed;
  // origin: a record substituted from a store remote says which, and whose key signed it.
  const originOf = (d: unknown) => (d as { origin?: { remote: string; keyId: string; pulledAt: string } }).origin;
  const rows = listed.value.map((r) => (r.ok ? { kind: r.value.kind, id: r.value.id, broken: r.value.broken ?? null, ...(originOf(r.value.data) ? { origin: originOf(r.value.data) } : {}) } : { error: r.error.toJSON() }));
  if (args.options['json']) io.stdout.write(json(rows));
  else if (rows.length) io.stdout.write(table(rows.map((r) => ('error' in r ? ['?', String(r.error?.['message'])] : [r.kind, r.id, [r.broken ? 'broken' : '', 'origin' in r && r.origin ? `from ${r.origin.remote} (${r.origin.keyId})` : ''].filter(Boolean).join(' ')]))));
  return ok(undefined);
}

async function cat(store: Store, digest: Digest, io: CliIO): Outcome {
  const stream = await store.get(digest);
  if (!stream.ok) return stream;
  await pipeTo(stream.value, io.stdout);
  return ok(undefined);
}

/** Blob bytes to stdout, waiting for 'drain' so a 2 GiB blob never sits in memory. */
async function pipeTo(from: Readable, to: CliIO['stdout']): Promise<void> {
  const sink = to as CliIO['stdout'] & { write(b: Uint8Array): boolean; once?: (ev: 'drain', f: () => void) => unknown };
  for await (const chunk of from) {
    if (sink.write(chunk as Buffer) === false && sink.once) await new Promise<void>((resolve) => sink.once!('drain', resolve));
  }
}

async function put(store: Store, files: string[], expected: Digest | undefined, args: ParsedArgs, io: CliIO): Outcome {
  if (expected) {
    const r = await store.put({ file: files[0]! }, { expected });
    if (!r.ok) return r;
    io.stdout.write(args.options['json'] ? json([{ file: files[0], ...r.value }]) : `${r.value.digest}  ${files[0]}\n`);
    return ok(undefined);
  }
  const results = await store.putFiles({ files });
  const failure = results.map((r) => r.result).find((r) => !r.ok);
  const rows = results.flatMap((r) => (r.result.ok ? [{ file: r.file, ...r.result.value }] : []));
  if (args.options['json']) io.stdout.write(json(rows));
  else for (const r of rows) io.stdout.write(`${r.digest}  ${r.file}\n`);
  // Each file stands alone: the ones that went in stay in, and the first failure is the verdict.
  return failure && !failure.ok ? err(failure.error) : ok(undefined);
}

async function verifyCmd(store: Store, args: ParsedArgs, io: CliIO): Outcome {
  const repair = args.options['repair'] === true;
  const r = await store.verify({ repair, contents: args.options['quick'] !== true });
  if (!r.ok) return r;
  const v = r.value;
  if (args.options['json']) {
    io.stdout.write(json(v));
  } else {
    const out: string[] = [`checked ${plural(v.blobs, 'blob')} (${human(v.bytes)})${v.contentsChecked ? ', contents re-hashed' : ', presence only'}`];
    for (const c of v.corrupt) out.push(`corrupt: ${c.digest} now hashes to ${c.actual}`);
    for (const s of v.strays) out.push(`stray: ${s} is not named by a digest`);
    for (const m of v.missing) out.push(`missing: ${m.digest}, needed by ${m.neededBy.join(', ')}`);
    for (const u of v.undecodable) out.push(`unreadable record: ${u.message}`);
    if (v.alreadyBroken.length) out.push(`${plural(v.alreadyBroken.length, 'record')} already marked broken (the next build redoes them)`);
    if (v.repaired) {
      const p = v.repaired;
      out.push(
        `repaired: removed ${plural(p.removedBlobs.length, 'bad blob')} and ${plural(p.removedStrays.length, 'stray file')}, ` +
          `marked ${plural(p.markedBroken.length, 'record')} broken, cleared ${p.unmarked.length} broken mark${p.unmarked.length === 1 ? '' : 's'}, removed ${plural(p.tmpFilesRemoved, 'tmp file')}`,
      );
    }
    out.push(v.ok ? 'ok: the store is consistent' : repair ? 'problems found and repaired' : 'problems found: run `weld store verify --repair`');
    io.stdout.write(out.join('\n') + '\n');
  }
  // After a repair only undecodable records are still wrong; without one, any problem fails.
  const problems = repair ? v.undecodable.length : v.corrupt.length + v.strays.length + v.missing.length + v.undecodable.length;
  return problems ? err(new StoreInconsistentError(problems, repair)) : ok(undefined);
}

function graceFromArgs(args: ParsedArgs): Result<number | undefined, UsageError> {
  const grace = args.options['grace'];
  if (typeof grace !== 'string') return ok(undefined);
  const n = Number(grace);
  if (!/^\d+(\.\d+)?$/.test(grace.trim()) || !Number.isFinite(n)) return err(new UsageError(`weld store gc: --grace ${grace} is not a number of seconds`, 'e.g. --grace 0 to remove even blobs put a moment ago'));
  return ok(n * 1000);
}

async function gcCmd(store: Store, graceMs: number | undefined, args: ParsedArgs, io: CliIO): Outcome {
  const dryRun = args.options['dry-run'] === true;
  const r = await store.gc({ dryRun, ...(graceMs !== undefined ? { graceMs } : {}) });
  if (!r.ok) return r;
  const g = r.value;
  if (args.options['json']) {
    io.stdout.write(json(g));
    return ok(undefined);
  }
  const verb = dryRun ? 'would remove' : 'removed';
  const lines = g.removed.map((b) => `${verb} ${b.digest}  ${b.size}`);
  lines.push(`${verb} ${plural(g.removed.length, 'blob')} (${human(g.bytesFreed)})${g.removedRecords.length ? ` and ${plural(g.removedRecords.length, 'record')}` : ''}; kept ${plural(g.kept, 'blob')} (${human(g.keptBytes)})`);
  if (g.young) lines.push(`kept ${plural(g.young, 'unreferenced blob')} younger than ${g.graceMs / 1000} s (a build may be about to name them; --grace 0 removes them too)`);
  io.stdout.write(lines.join('\n') + '\n');
  return ok(undefined);
}

