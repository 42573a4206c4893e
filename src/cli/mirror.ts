import { UsageError, WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import type { Metadata } from '../metadata/model.js';
import type { Store } from '../store/store.js';
import { eventLines, type EventLines } from './event-lines.js';
import type { MirrorEvent } from '../mirror/events.js';
import { nextLock, readLockNow, writeLockFile } from '../mirror/lock-writer.js';
import { checkLock, mirrorPackages, mirrorsDirFor } from '../mirror/mirror.js';
import type { VerbModule } from './commands.js';
import { plural } from './format.js';
import type { CliIO } from './io.js';
import { openFromArgs } from './metadata-args.js';
import { packageNames } from './package-names.js';
import { openStoreFromArgs, STORE_OPTION } from './store-args.js';

export const spec: VerbModule['spec'] = {
  description:
    "Brings each package's upstream source into mirrors/<pkg>.git: an `upstream` branch (tag\n" +
    'upstream/<version>) and a `distro` branch with the patches of metadata/patches/<pkg>/\n' +
    '(tag distro/<version>-<release>), then records the commits in metadata/weld.lock.\n' +
    'Packages already mirrored from the same inputs are skipped without network.',
  options: {
    all: { type: 'boolean', description: 'mirror every package' },
    check: { type: 'boolean', description: 'report packages whose lock is missing or stale, changing nothing (exit 1 if any)' },
    refresh: { type: 'boolean', description: 'contact upstreams even for packages that are up to date (picks up moved tags)' },
    jobs: { type: 'string', short: 'j', value: '<n>', description: 'packages mirrored at once (default 4)' },
    json: { type: 'boolean', description: 'print the results as JSON' },
    mirrors: { type: 'string', value: '<dir>', description: 'where mirrors live (default: $WELD_MIRRORS, [paths] mirrors, ./mirrors)' },
    metadata: { type: 'string', value: '<dir>', description: 'the metadata directory (default: ./metadata, searched upwards)' },
    ...STORE_OPTION,
  },
  positionals: [{ name: 'package', variadic: true }],
  examples: ['weld mirror --all', 'weld mirror pyyaml libyaml', 'weld mirror --check --all'],
};

class MirrorFailedError extends WeldError {
  readonly code = 'E_MIRROR_FAILED';
  constructor(
    readonly failures: Array<{ pkg: string; error: WeldError }>,
    /** the rest of the run, so --json prints one document */
    readonly results: unknown,
    what = 'failed',
  ) {
    super(`${plural(failures.length, 'package')} ${what}: ${failures.map((f) => f.pkg).join(', ')}`);
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), failures: this.failures.map((f) => ({ package: f.pkg, ...f.error.toJSON() })), results: this.results };
  }
}

class LockStaleError extends WeldError {
  readonly code = 'E_LOCK_STALE';
  constructor(
    readonly status: string,
    detail: string,
  ) {
    super(detail);
  }
}

/** Plain progress lines: one per phase, and download progress at most every 10%. */
function renderer(io: CliIO): (e: MirrorEvent) => void {
  const shown = new Map<string, number>();
  return (e) => {
    const pkg = e.subject.name;
    if (e.type === 'phase') io.stderr.write(`${pkg}: ${e.data.phase} ${e.data.detail}\n`);
    else if (e.type === 'warning') io.stderr.write(`${pkg}: warning: ${e.data.message}\n`);
    else if (e.type === 'progress' && e.data.unit === 'bytes' && e.data.total) {
      const tenth = Math.floor((e.data.done / e.data.total) * 10);
      if (tenth > (shown.get(pkg) ?? 0) && tenth < 10) {
        shown.set(pkg, tenth);
        io.stderr.write(`${pkg}: ${e.data.phase} ${tenth * 10}% of ${(e.data.total / 1e6).toFixed(1)} MB\n`);
      }
    }
  };
}

export const run: VerbModule['run'] = async (args, io) => {
  const all = args.options['all'] === true;
  if (all === args.positionals.length > 0) {
    return err(new UsageError(all ? 'weld mirror: name packages or pass --all, not both' : 'weld mirror: name the packages to mirror, or pass --all', 'usage: weld mirror <package>… | --all'));
  }
  const jobs = args.options['jobs'] === undefined ? 4 : Number(args.options['jobs']);
  if (!Number.isInteger(jobs) || jobs < 1) return err(new UsageError(`weld mirror: --jobs must be a whole number of at least 1, not "${args.options['jobs']}"`));
  const loaded = await openFromArgs(args, io);
  if (!loaded.ok) return loaded;
  const metadata = loaded.value;
  const named = all ? ok([...metadata.packages.keys()]) : packageNames({ verb: 'mirror', typed: args.positionals, metadata });
  if (!named.ok) return named;
  const names = named.value;
  const mirrorsDir = mirrorsDirFor({ metadata, cwd: io.cwd, env: io.env, ...(typeof args.options['mirrors'] === 'string' ? { flag: args.options['mirrors'] } : {}) });

  if (args.options['check']) {
    const report = await checkLock({ metadata, packages: names, mirrorsDir });
    const bad = report.filter((r) => r.status !== 'ok');
    if (!args.options['json']) for (const r of report) io.stdout.write(`${r.pkg.padEnd(24)} ${r.status.padEnd(12)} ${r.detail}\n`);
    if (bad.length) return err(new MirrorFailedError(bad.map((b) => ({ pkg: b.pkg, error: new LockStaleError(b.status, b.detail) })), report, 'need `weld mirror`'));
    if (args.options['json']) eventLines(io).summary({ data: { packages: report } });
    return ok(undefined);
  }

  // Opened on first use: a no-op mirror never loads the store's LevelDB.
  let opening: ReturnType<typeof openStoreFromArgs> | undefined;
  const store = async () => {
    const r = await (opening ??= openStoreFromArgs(args, io, { create: true, metadata }));
    return r.ok ? ok(r.value.store) : r;
  };
  const r = await mirrorStep({ metadata, names, mirrorsDir, store, jobs, refresh: args.options['refresh'] === true, json: args.options['json'] === true, io });
  return r.ok ? ok(undefined) : r;
};

/** What a mirror run did, per package, and the lock it wrote. */
export interface MirrorSummary {
  packages: Array<Record<string, unknown>>;
  lock: { file: string; changed: boolean };
}

/** `weld mirror` once its arguments are checked: mirrors, writes the lock, prints; `weld up` calls it. */
export async function mirrorStep(o: { metadata: Metadata; names: string[]; mirrorsDir: string; store: () => Promise<Result<Store, WeldError>>; jobs: number; refresh: boolean; json: boolean; io: CliIO }): Promise<Result<MirrorSummary, WeldError>> {
  const lines = o.json ? eventLines(o.io) : undefined;
  try {
    return await mirrorAndLock({ ...o, lines });
  } finally {
    lines?.end();
  }
}

async function mirrorAndLock(o: Parameters<typeof mirrorStep>[0] & { lines: EventLines | undefined }): Promise<Result<MirrorSummary, WeldError>> {
  const { metadata, io, lines } = o;
  const asJson = lines !== undefined;
  const outcome = await mirrorPackages({
    metadata,
    packages: o.names,
    mirrorsDir: o.mirrorsDir,
    store: o.store,
    jobs: o.jobs,
    env: io.env,
    ...(o.refresh ? { refresh: true } : {}),
    onEvent: lines ? lines.write : renderer(io),
  });
  // Merged into the lock as it is now, not as it was read at the start: runs may overlap.
  const lock = writeLockFile({ metadata, entries: nextLock({ metadata, outcome, current: readLockNow(metadata) }) });
  if (!lock.ok) return lock;

  const failures: Array<{ pkg: string; error: WeldError }> = [];
  const rows: Array<Record<string, unknown>> = [];
  for (const [pkg, r] of outcome) {
    if (!r.ok) {
      failures.push({ pkg, error: r.error });
      if (!asJson) io.stderr.write(`${pkg}: failed: ${r.error.message}\n${r.error.hint ? `${pkg}: hint: ${r.error.hint}\n` : ''}`);
      continue;
    }
    const m = r.value;
    rows.push({ package: pkg, status: m.upToDate ? 'up-to-date' : 'mirrored', ...m.lock, fetched: m.fetched, seconds: Number(m.seconds.toFixed(3)) });
    if (!asJson) {
      io.stdout.write(`${pkg}: ${m.upToDate ? 'up to date' : 'mirrored'}  upstream ${m.lock.upstream.slice(0, 12)}  distro ${m.lock.distro.slice(0, 12)}  (${m.seconds.toFixed(1)} s)\n`);
    }
  }
  const summary: MirrorSummary = { packages: rows, lock: { file: lock.value.file, changed: lock.value.changed } };
  if (!asJson) {
    const mirrored = rows.filter((r) => r.status === 'mirrored').length;
    io.stdout.write(`${plural(mirrored, 'package')} mirrored, ${rows.length - mirrored} up to date, ${failures.length} failed; ${lock.value.changed ? 'lock updated' : 'lock unchanged'}: ${lock.value.file}\n`);
  }
  if (failures.length) return err(new MirrorFailedError(failures, summary));
  lines?.summary({ data: summary });
  return ok(summary);
}
