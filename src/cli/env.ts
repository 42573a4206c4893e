import path from 'node:path';
import { UsageError, WeldError } from '../core/errors.js';
import type { Subject } from '../core/events.js';
import { eventLines, type EventLines } from './event-lines.js';
import { err, ok, type Result } from '../core/result.js';
import type { EnvEvent } from '../envs/events.js';
import { EnvNotFoundError } from '../envs/errors.js';
import type { Env, Metadata } from '../metadata/model.js';
import { closest } from '../util/suggest.js';
import type { ParsedArgs } from './args.js';
import { METADATA_OPTIONS } from './args.js';
import type { VerbModule } from './commands.js';
import { json, table } from './format.js';
import type { CliIO } from './io.js';
import { openFromArgs } from './metadata-args.js';
import { ArgumentError } from './package-names.js';
import { openStoreFromArgs, REMOTE_OPTIONS, remoteFromArgs, STORE_OPTION } from './store-args.js';
import type { RemoteSettings } from '../store/remote/config.js';
import type { Store } from '../store/store.js';
import type { ComposedImage } from '../envs/compose.js';
import type { EnvSubstituter } from '../envs/substitute.js';

const SUBVERBS = ['lock', 'fetch', 'compose', 'ls', 'shell'] as const;
type SubVerb = (typeof SUBVERBS)[number];

const ALLOWED: Record<SubVerb, string[]> = {
  lock: ['json', 'metadata'],
  fetch: ['json', 'metadata', 'store', 'jobs'],
  compose: ['json', 'metadata', 'store', 'force', 'no-load', 'store-remote', 'tls-verify', 'signing-key'],
  ls: ['json', 'metadata', 'store'],
  shell: ['metadata', 'store', 'store-remote', 'tls-verify'],
};

export const spec: VerbModule['spec'] = {
  description:
    'Sub-verbs:\n' +
    '  lock <env>            resolve the env\'s packages (and Debian\'s essential ones) for its arch with apt\n' +
    '                        into metadata/envs/<env>.lock.toml\n' +
    '  fetch <env>           download every locked .deb into the store, verified (present ones are skipped)\n' +
    '  compose <env>         unpack the debs into a deterministic OCI image in the store and load it into\n' +
    '                        podman as weld-env/<env>:<first 12 hex of the image digest>; with a store\n' +
    '                        remote, an image of the same lock pushed there (signed by a trusted key)\n' +
    '                        is taken instead, and with [store] push = true a composed one is pushed\n' +
    '  ls                    every env: its lock, its image in the store\n' +
    '  shell <env> [cmd…]    a shell (or cmd) in the env\'s image, network off, for debugging a recipe\n' +
    '\n' +
    'The Debian mirror is the one this host\'s apt uses for the suite, or $WELD_DEBIAN_MIRROR.',
  options: {
    ...METADATA_OPTIONS,
    ...STORE_OPTION,
    ...REMOTE_OPTIONS,
    json: { type: 'boolean', description: 'print the result as JSON' },
    jobs: { type: 'string', value: '<n>', description: 'fetch: parallel downloads (default 6)' },
    force: { type: 'boolean', description: 'compose: compose again even when the store has this lock\'s image' },
    'no-load': { type: 'boolean', description: 'compose: write the image into the store only, do not load it into podman' },
  },
  positionals: [
    { name: 'sub-verb', required: true },
    { name: 'arg', variadic: true },
  ],
  examples: ['weld env lock bookworm-s390x', 'weld env fetch bookworm-s390x', 'weld env compose bookworm-s390x', 'weld env shell bookworm-s390x', 'weld env shell bookworm-s390x -- python3 -V'],
};

type Outcome = Promise<Result<void, WeldError>>;

/** The store's state, not the command line: exit 1. */
class EnvNotComposedError extends WeldError {
  readonly code = 'E_ENV_NOT_COMPOSED';
  constructor(env: string) {
    super(`weld env shell: env "${env}" has no image for its current lock`, `run \`weld env compose ${env}\` first`);
  }
}

export const run: VerbModule['run'] = async (args, io) => {
  const [sub, ...rest] = args.positionals;
  if (!(SUBVERBS as readonly string[]).includes(sub ?? '')) {
    const guess = closest(sub ?? '', SUBVERBS);
    return err(new UsageError(`weld env: unknown sub-verb "${sub}"${guess ? `; did you mean "${guess}"?` : ''}`, `one of: ${SUBVERBS.join(', ')}`));
  }
  const verb = sub as SubVerb;
  const misplaced = Object.keys(spec.options).find((o) => args.options[o] !== undefined && !ALLOWED[verb].includes(o));
  if (misplaced) return err(new UsageError(`weld env ${verb}: --${misplaced} does not apply here`, `run 'weld env --help' for which options go with which sub-verb`));
  if (verb === 'ls' && rest.length) return err(new UsageError(`weld env ls: unexpected argument "${rest[0]}"`));
  if (verb !== 'ls' && rest.length === 0) return err(new UsageError(`weld env ${verb}: missing <env>`, `usage: weld env ${verb} <env>`));
  if (verb !== 'ls' && verb !== 'shell' && rest.length > 1) return err(new UsageError(`weld env ${verb}: one env at a time (got ${rest.length})`));
  const metadata = await openFromArgs(args, io);
  if (!metadata.ok) return metadata;
  if (verb === 'ls') return ls(metadata.value, args, io);
  const env = findEnv(metadata.value, rest[0]!);
  if (!env.ok) return env;
  switch (verb) {
    case 'lock':
      return lock(metadata.value, env.value, args, io);
    case 'fetch': {
      const jobsArg = args.options['jobs'];
      const jobs = typeof jobsArg === 'string' ? Number(jobsArg) : undefined;
      if (jobs !== undefined && !(Number.isInteger(jobs) && jobs > 0)) return err(new UsageError(`weld env fetch: --jobs ${jobsArg} is not a positive whole number`));
      const opened = await openStoreFromArgs(args, io, { create: true, metadata: metadata.value });
      if (!opened.ok) return opened;
      return fetchStep({ env: env.value, store: opened.value.store, io, json: args.options['json'] === true, ...(jobs ? { jobs } : {}) });
    }
    case 'compose': {
      const opened = await openStoreFromArgs(args, io, { create: true, metadata: metadata.value });
      if (!opened.ok) return opened;
      const remote = await remoteFromArgs(args, io, { metadata: metadata.value });
      if (!remote.ok) return remote;
      return composeStep({ metadata: metadata.value, env: env.value, store: opened.value.store, io, json: args.options['json'] === true, force: args.options['force'] === true, load: !args.options['no-load'], ...(remote.value ? { remote: remote.value } : {}) });
    }
    case 'shell':
      return shell(metadata.value, env.value, rest.slice(1), args, io);
  }
};

// A name typed on the command line: unknown is a usage error (exit 2), as for packages.
function findEnv(m: Metadata, name: string): Result<Env, ArgumentError> {
  const env = m.envs.get(name);
  if (env) return ok(env);
  const known = [...m.envs.keys()].sort();
  return err(new ArgumentError(new EnvNotFoundError(name, known, closest(name, known))));
}

/** Progress on stderr: one rewritten line on a terminal, a line per quarter otherwise. */
function plainReporter(io: CliIO): (e: EnvEvent) => void {
  const tty = io.stderr.isTTY === true;
  let lastQuarter = -1;
  return (e) => {
    if (e.type === 'phase') io.stderr.write(`${tty ? '\r\x1b[K' : ''}weld env: ${e.subject.name}: ${e.data.detail}\n`);
    else if (e.type === 'warning') io.stderr.write(`${tty ? '\r\x1b[K' : ''}weld env: warning: ${e.data.message}\n`);
    else if (e.type === 'progress') {
      const { unit: what, done, total = 0 } = e.data;
      const unit = what === 'bytes' ? (n: number) => `${(n / 1024 ** 2).toFixed(1)} MiB` : (n: number) => `${n} debs`;
      if (tty) io.stderr.write(`\r\x1b[K  ${unit(done)} of ${unit(total)}`);
      else if (what === 'debs') {
        const q = Math.floor((4 * done) / Math.max(1, total));
        if (q !== lastQuarter) io.stderr.write(`  ${unit(done)} of ${unit(total)}\n`);
        lastQuarter = q;
      }
    }
  };
}

/** Plain progress on stderr, or (--json) every event as a line on stdout, then the summary line. */
function reporter(io: CliIO, json: boolean): { onEvent: (e: EnvEvent) => void; lines: EventLines | undefined } {
  const lines = json ? eventLines(io) : undefined;
  return { onEvent: lines ? lines.write : plainReporter(io), lines };
}

const envSubject = (env: Env): Subject => ({ kind: 'env', name: env.name });
const mib = (n: number) => `${(n / 1024 ** 2).toFixed(1)} MiB`;
const secs = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

async function lock(m: Metadata, env: Env, args: ParsedArgs, io: CliIO): Outcome {
  const { lockEnv } = await import('../envs/lock.js');
  const file = path.join(m.root, m.metaDir, 'envs', `${env.name}.lock.toml`);
  const { onEvent, lines } = reporter(io, args.options['json'] === true);
  const r = await lockEnv({ env, root: m.root, file, processEnv: io.env, onEvent });
  lines?.end();
  if (!r.ok) return r;
  const bytes = r.value.debs.reduce((n, d) => n + d.size, 0);
  const rel = path.relative(io.cwd, file) || file;
  if (lines) lines.summary({ subject: envSubject(env), data: { env: env.name, file: rel, changed: r.value.changed, debs: r.value.debs.length, bytes } });
  else io.stdout.write(`${env.name}: ${r.value.debs.length} debs (${mib(bytes)}) → ${rel}${r.value.changed ? '' : ' (unchanged)'}\n`);
  return ok(undefined);
}

/** `weld env fetch <env>` once its arguments are checked; `weld up` calls it for each env. */
export async function fetchStep(o: { env: Env; store: Store; io: CliIO; json: boolean; jobs?: number }): Outcome {
  const { env, io } = o;
  const { fetchEnv } = await import('../envs/fetch.js');
  const t0 = performance.now();
  const { onEvent, lines } = reporter(io, o.json);
  const r = await fetchEnv({ env, store: o.store, processEnv: io.env, ...(o.jobs ? { concurrency: o.jobs } : {}), onEvent });
  lines?.end();
  if (io.stderr.isTTY && !lines) io.stderr.write('\r\x1b[K');
  if (!r.ok) return r;
  const v = r.value;
  if (lines) lines.summary({ subject: envSubject(env), data: { env: env.name, ...v } });
  else io.stdout.write(`${env.name}: ${v.debs} debs (${mib(v.bytes)}) in the store; downloaded ${v.downloaded}, ${v.debs - v.downloaded} already there; ${secs(t0)}\n`);
  return ok(undefined);
}

/**
 * `weld up`'s fetch of an env: none when the store has the image of its lock, or the store
 * remote gives it (then the debs are not needed, and nothing is composed either).
 */
export async function fetchUnlessComposed(o: { env: Env; store: Store; io: CliIO; json: boolean; remote?: RemoteSettings }): Outcome {
  const { env, io } = o;
  const { findComposed } = await import('../envs/compose.js');
  const remote = o.remote ? new (await import('../envs/substitute.js')).EnvSubstituter({ settings: o.remote, store: o.store }) : undefined;
  const t0 = performance.now();
  const image = await findComposed({ env, store: o.store, ...(remote ? { remote, fallback: 'fetching its debs to compose it here', onEvent: plainReporter(io) } : {}) });
  if (!image) return fetchStep(o);
  const sub = image.substituted;
  io.stdout.write(`${env.name}: image ${image.record.manifest} ${sub ? `substituted from ${sub.remote} (signed by ${sub.keyId}; ${sub.blobs} blobs, ${mib(sub.bytes)}) in ${secs(t0)}` : 'already in the store'}; its debs are not fetched\n`);
  return ok(undefined);
}

/**
 * `weld env compose <env>` once its arguments are checked; `weld up` calls it for each env.
 * With a store remote, an image of the lock found there is taken instead of composing; with
 * `push = true`, one composed here goes up to it (a failed push is a warning).
 */
export async function composeStep(o: { metadata: Metadata; env: Env; store: Store; io: CliIO; json: boolean; force: boolean; load: boolean; remote?: RemoteSettings }): Outcome {
  const { metadata: m, env, store, io } = o;
  const { composeEnv } = await import('../envs/compose.js');
  const t0 = performance.now();
  const { onEvent, lines } = reporter(io, o.json);
  const remote = o.remote && !o.force ? new (await import('../envs/substitute.js')).EnvSubstituter({ settings: o.remote, store }) : undefined;
  const r = await composeEnv({ env, store, force: o.force, onEvent, ...(remote ? { remote } : {}) });
  lines?.end();
  if (io.stderr.isTTY && !lines) io.stderr.write('\r\x1b[K');
  if (!r.ok) return r;
  const composeTime = secs(t0);
  let loaded: boolean | undefined;
  let loadTime = '';
  if (o.load) {
    const podman = await openPodman(m, env, io);
    if (!podman.ok) return podman;
    const { loadEnvImage } = await import('../envs/compose.js');
    const t1 = performance.now();
    const l = await loadEnvImage({ image: r.value, store, podman: podman.value });
    if (!l.ok) return l;
    loaded = l.value.loaded;
    loadTime = secs(t1);
  }
  const rec = r.value.record;
  const sub = r.value.substituted;
  if (lines) lines.summary({ subject: envSubject(env), data: { env: env.name, tag: r.value.tag, image: rec.manifest, config: rec.config, layers: rec.layers, reused: r.value.reused, substituted: sub ?? null, loaded: loaded ?? null } });
  else {
    const how = sub ? `substituted from ${sub.remote} (signed by ${sub.keyId}; ${sub.blobs} blobs, ${mib(sub.bytes)} in ${composeTime})` : `(${r.value.reused ? 'already in the store' : `composed in ${composeTime}`})`;
    io.stdout.write(`${env.name}: image ${rec.manifest} ${how}\n`);
    if (loaded !== undefined) io.stdout.write(`${env.name}: ${r.value.tag} ${loaded ? `loaded into podman in ${loadTime}` : 'already in podman'}\n`);
  }
  // an image that came from the remote is there already
  if (o.remote?.push && !rec.origin) await pushComposedEnv({ settings: o.remote, store, image: r.value, io, json: o.json });
  return ok(undefined);
}

async function pushComposedEnv(o: { settings: RemoteSettings; store: Store; image: ComposedImage; io: CliIO; json: boolean }): Promise<void> {
  const { pushEnvImages } = await import('../store/remote/push-composes.js');
  const r = await pushEnvImages({ settings: o.settings, store: o.store, images: [{ id: o.image.recordId, record: o.image.record }] });
  if (!r.ok) return void o.io.stderr.write(`weld: warning: push: ${o.image.env}: ${r.error.message}${r.error.hint ? ` (${r.error.hint})` : ''}\n`);
  const rep = r.value;
  if (!o.json) o.io.stdout.write(`${o.image.env}: pushed ${rep.pushed.length} of 2 tags to ${rep.remote} (${rep.blobsUploaded} blobs, ${mib(rep.bytesUploaded)} sent; ${rep.present.length} tags there already)\n`);
}

/** With a store remote configured, what takes env images from it. */
async function substituterFor(args: ParsedArgs, io: CliIO, m: Metadata, store: Store): Promise<Result<EnvSubstituter | undefined, WeldError>> {
  const remote = await remoteFromArgs(args, io, { metadata: m });
  if (!remote.ok) return remote;
  if (!remote.value) return ok(undefined);
  const { EnvSubstituter } = await import('../envs/substitute.js');
  return ok(new EnvSubstituter({ settings: remote.value, store }));
}

async function openPodman(m: Metadata, env: Env, io: CliIO) {
  const { Podman } = await import('../podman/podman.js');
  return Podman.open({ root: m.root, arch: env.arch, env: io.env });
}

async function ls(m: Metadata, args: ParsedArgs, io: CliIO): Outcome {
  const { requireFreshLock } = await import('../envs/fresh.js');
  const { findComposed } = await import('../envs/compose.js');
  const opened = await openStoreFromArgs(args, io, { create: false, metadata: m });
  const rows = [];
  for (const env of [...m.envs.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const fresh = requireFreshLock(env);
    const state = fresh.ok ? 'locked' : env.lock && env.lock.debs.length ? 'stale' : 'unlocked';
    const image = opened.ok ? await findComposed({ env, store: opened.value.store }) : undefined;
    rows.push({ env: env.name, kind: env.kind, arch: env.arch, suite: env.suite, lock: state, debs: env.lock?.debs.length ?? 0, image: image?.record.manifest ?? null, tag: image?.tag ?? null });
  }
  if (args.options['json']) io.stdout.write(json(rows));
  else io.stdout.write(table([['ENV', 'KIND', 'ARCH', 'SUITE', 'LOCK', 'IMAGE'], ...rows.map((r) => [r.env, r.kind, r.arch, r.suite, r.lock === 'locked' ? `${r.debs} debs` : r.lock, r.tag ?? '-'])]));
  return ok(undefined);
}

async function shell(m: Metadata, env: Env, cmd: string[], args: ParsedArgs, io: CliIO): Outcome {
  const opened = await openStoreFromArgs(args, io, { create: false, metadata: m });
  if (!opened.ok) return opened;
  const { findComposed } = await import('../envs/compose.js');
  const remote = await substituterFor(args, io, m, opened.value.store);
  if (!remote.ok) return remote;
  const image = await findComposed({ env, store: opened.value.store, ...(remote.value ? { remote: remote.value, onEvent: plainReporter(io) } : {}) });
  if (!image) return err(new EnvNotComposedError(env.name));
  const podman = await openPodman(m, env, io);
  if (!podman.ok) return podman;
  const { loadEnvImage } = await import('../envs/compose.js');
  const loaded = await loadEnvImage({ image, store: opened.value.store, podman: podman.value });
  if (!loaded.ok) return loaded;
  const code = await podman.value.runInteractive({ image: image.tag, cmd: cmd.length ? cmd : ['/bin/bash'], tty: process.stdin.isTTY === true });
  if (code === 0) return ok(undefined);
  const { ShellExitError } = await import('../envs/errors.js');
  return err(new ShellExitError(env.name, code));
}
