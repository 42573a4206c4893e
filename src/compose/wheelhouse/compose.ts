import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import type { WeldError } from '../../core/errors.js';
import { err, ok, type Result } from '../../core/result.js';
import { normalizeName } from '../../metadata/names.js';
import { digestBytes, hexOf, type Digest } from '../../store/digest.js';
import type { BuildRecord, ComposeFile } from '../../store/records.js';
import type { Store } from '../../store/store.js';
import { WheelInvalidError } from '../errors.js';
import type { WheelName } from '../wheel/name.js';
import { wheelOutputs, type BuildOutput } from '../wheel/outputs.js';
import { WheelhouseOutError } from './errors.js';
import type { WheelhouseListener } from './events.js';
import { renderIndex } from './index-pages.js';
import { renderManifest, type WheelEntry } from './manifest.js';
import { cachedMetadata, metadataCacheOps, readComposeIndex } from './metadata-cache.js';
import { checkReplaceable, swapInto } from './out-dir.js';
import { renderSbom, SBOM_FILE } from './sbom.js';
import { placeTreeFiles, type TreeFile } from './tree-blobs.js';
import { parseCoreMetadata, readWheelMetadata } from './wheel-file.js';

/** One package's current build and what the SBOM says about it. */
export interface WheelhouseBuild {
  package: string;
  record: BuildRecord;
  sourceCommit: string | null;
  /** SPDX expression from the package metadata */
  license?: string;
  summary?: string;
  homepage?: string;
  /** weld packages it needs at run time */
  runtimeRequires: string[];
}

export interface ComposeWheelhouseOptions {
  store: Store;
  name: string;
  /** the directory to (re)place; its parent is created */
  out: string;
  builds: WheelhouseBuild[];
  tool: { name: string; version: string };
  onEvent?: WheelhouseListener;
  /** files placed, read and written at once (default 16) */
  concurrency?: number;
}

export interface WheelhouseResult {
  out: string;
  /** the manifest.json blob, also the compose record's manifest */
  manifest: Digest;
  recordId: string;
  wheels: WheelEntry[];
  linked: number;
  copied: number;
}

/**
 * Writes the wheelhouse of the given builds: wheels/ (hard links into the store, or
 * copies across file systems), wheels/<file>.metadata (PEP 658), simple/ (PEP 503 HTML and
 * PEP 691 JSON), manifest.json and the SBOM. Everything is written into a temporary
 * directory beside `out` and renamed into place, so a failure leaves the old tree (or
 * none); then a compose record keeps the wheels alive through gc.
 */
export async function composeWheelhouse(o: ComposeWheelhouseOptions): Promise<Result<WheelhouseResult, WeldError>> {
  const out = path.resolve(o.out);
  const replaceable = await checkReplaceable(out);
  if (!replaceable.ok) return replaceable;
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(path.join(tmp, 'wheels'), { recursive: true });
  } catch (e: unknown) {
    return err(new WheelhouseOutError(`cannot create ${tmp}: ${(e as Error).message}`, 'choose another --out'));
  }
  try {
    return await writeAll({ ...o, out, tmp });
  } catch (e: unknown) {
    // Disk full, permissions, a vanished parent: the user's to fix, not a bug.
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return err(new WheelhouseOutError(`cannot write the wheelhouse in ${path.dirname(out)}: ${(e as Error).message}`));
    throw e;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function writeAll(o: ComposeWheelhouseOptions & { out: string; tmp: string }): Promise<Result<WheelhouseResult, WeldError>> {
  const { out, tmp } = o;
  const limit = pLimit(o.concurrency ?? 16);
  const written = await writeTree({ ...o, limit });
  if (!written.ok) return written;
  const { wheels, linked, copied, files, learned, kept, manifestBytes } = written.value;
  const inStore = new Set(await placeTreeFiles({ store: o.store, files, limit, kept }));
  // The store keeps every file of the tree, even those it could not link to (across file
  // systems): the compose record lists the tree, so it can be pushed and laid out elsewhere.
  const tree: ComposeFile[] = wheels.map((w) => ({ path: `wheels/${w.file}`, digest: w.digest, size: w.size }));
  for (const f of files) {
    const digest = digestBytes(f.bytes);
    tree.push({ path: path.relative(tmp, f.path).split(path.sep).join('/'), digest, size: f.bytes.byteLength });
    if (inStore.has(digest)) continue;
    const put = await o.store.put([f.bytes]);
    if (!put.ok) return put;
    inStore.add(put.value.digest);
  }
  tree.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const manifestDigest = digestBytes(manifestBytes);
  const swapped = await swapInto({ tmp, out });
  if (!swapped.ok) return swapped;
  // The old tree is out of sight already: deleting it overlaps writing the record.
  const blobs = [...wheels.map((w) => w.digest), ...inStore];
  const cache = learned.filter((l) => inStore.has(l.metadata));
  const [recorded] = await Promise.all([record({ store: o.store, name: o.name, manifest: manifestDigest, blobs, files: tree, cache }), swapped.value.removeOld()]);
  if (!recorded.ok) return recorded;
  o.onEvent?.({ type: 'written', subject: { kind: 'compose', name: o.name }, at: Date.now(), data: { out, wheels: wheels.length, projects: new Set(wheels.map((w) => w.project)).size } });
  return ok({ out, manifest: manifestDigest, recordId: recorded.value, wheels, linked, copied });
}

interface TreeWritten {
  wheels: WheelEntry[];
  linked: number;
  copied: number;
  /** the small files still to place: PEP 658 metadata, the index pages, manifest and SBOM */
  files: TreeFile[];
  /** METADATA read out of zips this time, for the index to remember */
  learned: Array<{ wheel: Digest; metadata: Digest }>;
  /** blobs the compose's current record keeps */
  kept: Set<Digest>;
  manifestBytes: Buffer;
  sbomBytes: Buffer;
}

async function writeTree(o: ComposeWheelhouseOptions & { tmp: string; limit: LimitFunction }): Promise<Result<TreeWritten, WeldError>> {
  const planned = planWheels(o.builds);
  if (!planned.ok) return planned;
  const { metadata: cached, kept } = await readComposeIndex({ store: o.store, name: o.name, wheels: planned.value.map(({ output }) => output.digest) });
  // A project's directory needs only its name (the file name's, which METADATA must
  // match), so the directories are made while the wheels are placed and read. Making
  // them is the one costly step left (~100-250 µs each here), so all are handed to the
  // thread pool at once while this thread links and reads.
  mkdirSync(path.join(o.tmp, 'simple'));
  const projects = [...new Set(planned.value.map(({ name }) => normalizeName(name.distribution)))];
  // Settled here so a wheel's failure never leaves one unhandled.
  const dirsMade = Promise.all(projects.map((p) => mkdir(path.join(o.tmp, 'simple', p)))).then(() => undefined, (e: unknown) => e);
  try {
    const wheels = await placeWheels({ ...o, planned: planned.value, cached });
    if (!wheels.ok) return wheels;
    // Rendered while the directories are still being made.
    const { entries, files, linked, copied, learned } = wheels.value;
    for (const [file, text] of renderIndex(entries)) files.push({ path: path.join(o.tmp, file), bytes: Buffer.from(text) });
    const manifest = renderManifest({ name: o.name, wheels: entries });
    const manifestBytes = Buffer.from(manifest);
    const sbomBytes = Buffer.from(renderSbom({ name: o.name, wheels: entries, manifest, tool: o.tool }));
    files.push({ path: path.join(o.tmp, 'manifest.json'), bytes: manifestBytes }, { path: path.join(o.tmp, SBOM_FILE), bytes: sbomBytes });
    const dirsError = await dirsMade;
    if (dirsError !== undefined) throw dirsError;
    return ok({ wheels: entries, linked, copied, files, learned, kept, manifestBytes, sbomBytes });
  } finally {
    await dirsMade;
  }
}

type Planned = { build: WheelhouseBuild; output: BuildOutput; name: WheelName };

/**
 * Links (or copies) each wheel in and gets its METADATA: from the blob the index
 * remembers when it has one, else out of the zip. Links and the small reads are made
 * on this thread: through the thread pool, a call that cheap costs ~5× itself in
 * hand-offs (4,000 stats: ~15 ms direct, ~100 ms through the pool, measured). Zips are
 * read in parallel.
 */
async function placeWheels(o: ComposeWheelhouseOptions & { tmp: string; limit: LimitFunction; planned: Planned[]; cached: Map<Digest, Digest> }): Promise<Result<Pick<TreeWritten, 'linked' | 'copied' | 'files' | 'learned'> & { entries: WheelEntry[] }, WeldError>> {
  // After one EXDEV (store on another file system) every link would fail the same way.
  let canLink = true;
  let linked = 0;
  let copied = 0;
  const entries = new Array<WheelEntry>(o.planned.length);
  const files: TreeFile[] = [];
  const learned: TreeWritten['learned'] = [];
  const unread: number[] = [];
  for (const [i, { build, output }] of o.planned.entries()) {
    const from = o.store.blobPath(output.digest);
    const dest = path.join(o.tmp, 'wheels', output.name);
    const placed = await placeWheel({ from, to: dest, tryLink: canLink });
    if (placed === 'missing') return err(new WheelInvalidError(`${build.package}: its wheel ${output.name} (${output.digest}) is missing from the store`, 'run `weld store verify --repair`, then build it again'));
    if (placed === 'copied-exdev') canLink = false;
    if (placed === 'linked') linked++;
    else copied++;
    o.onEvent?.({ type: 'placed', subject: { kind: 'compose', name: o.name }, at: Date.now(), data: { file: output.name, package: build.package, how: placed === 'linked' ? 'linked' : 'copied' } });
    const remembered = o.cached.get(output.digest);
    const bytes = remembered && cachedMetadata(o.store, remembered);
    if (!remembered || !bytes) {
      unread.push(i);
      continue;
    }
    const entry = entryOf({ ...o.planned[i]!, bytes, digest: remembered });
    if (!entry.ok) return entry;
    entries[i] = entry.value;
    files.push({ path: `${dest}.metadata`, bytes });
  }
  const read = await Promise.all(
    unread.map((i) =>
      o.limit(async (): Promise<Result<void, WeldError>> => {
        const { build, output, name } = o.planned[i]!;
        const meta = await readWheelMetadata({ file: o.store.blobPath(output.digest), name });
        if ('reason' in meta) return err(new WheelInvalidError(`${build.package}: wheel ${output.name}: ${meta.reason}`, 'a wheel needs <dist>-<version>.dist-info/METADATA; check the recipe'));
        const digest = digestBytes(meta.bytes);
        const entry = entryOf({ ...o.planned[i]!, bytes: meta.bytes, digest });
        if (!entry.ok) return entry;
        entries[i] = entry.value;
        files.push({ path: path.join(o.tmp, 'wheels', `${output.name}.metadata`), bytes: meta.bytes });
        learned.push({ wheel: output.digest, metadata: digest });
        return ok(undefined);
      }),
    ),
  );
  for (const r of read) if (!r.ok) return r;
  return ok({ entries, linked, copied, files, learned });
}

/** The wheel's index entry from its METADATA, which must name the project and version its file name does. */
function entryOf(o: Planned & { bytes: Buffer; digest: Digest }): Result<WheelEntry, WeldError> {
  const { build, output, name } = o;
  const core = parseCoreMetadata(o.bytes.toString('utf8'));
  if (typeof core === 'string') return err(new WheelInvalidError(`${build.package}: wheel ${output.name}: its METADATA cannot be read: ${core}`));
  if (normalizeName(core.name) !== normalizeName(name.distribution) || core.version !== name.version) {
    return err(new WheelInvalidError(`${build.package}: wheel ${output.name}: its METADATA says ${core.name} ${core.version}, the file name says ${name.distribution} ${name.version}`, 'an index built from it would lie to pip; fix the recipe or the project'));
  }
  const license = build.license ?? core.license;
  return ok({
    project: normalizeName(core.name),
    name: core.name,
    version: core.version,
    file: output.name,
    sha256: hexOf(output.digest),
    size: output.size,
    ...(core.requiresPython ? { requiresPython: core.requiresPython } : {}),
    metadataSha256: hexOf(o.digest),
    package: build.package,
    digest: output.digest,
    buildKey: build.record.cacheKey,
    sourceCommit: build.sourceCommit,
    sourceTree: build.record.sourceTree,
    arch: build.record.arch,
    ...(license ? { license } : {}),
    licenseIsSpdx: build.license !== undefined,
    ...((build.summary ?? core.summary) ? { summary: (build.summary ?? core.summary)! } : {}),
    ...(build.homepage ? { homepage: build.homepage } : {}),
    runtimeRequires: build.runtimeRequires,
  });
}

/** The wheel outputs of the builds, checked: valid file names, no two the same. */
function planWheels(builds: WheelhouseBuild[]): Result<Array<{ build: WheelhouseBuild; output: BuildOutput; name: WheelName }>, WheelInvalidError> {
  const out: Array<{ build: WheelhouseBuild; output: BuildOutput; name: WheelName }> = [];
  const owner = new Map<string, { pkg: string; digest: Digest }>();
  for (const build of builds) {
    const wheels = wheelOutputs(build.package, build.record);
    if (!wheels.ok) return wheels;
    for (const { output, name } of wheels.value) {
      const other = owner.get(output.name);
      // Several targets' builds of a package: a pure wheel they share is one file.
      if (other?.pkg === build.package && other.digest === output.digest) continue;
      if (other?.pkg === build.package) return err(new WheelInvalidError(`${output.name} was built twice with different bytes (${other.digest}, ${output.digest}): two targets made the same wheel file`, `build it once: \`weld build ${build.package}\` records a pure wheel for the other targets; a platform wheel's name differs per target`));
      if (other) return err(new WheelInvalidError(`${output.name} is an output of both ${other.pkg} and ${build.package}`, 'two packages of one compose cannot build the same wheel file'));
      owner.set(output.name, { pkg: build.package, digest: output.digest });
      out.push({ build, output, name });
    }
  }
  return ok(out);
}

/** A hard link shares the store's read-only blob; a copy when linking is not possible. */
async function placeWheel(o: { from: string; to: string; tryLink: boolean }): Promise<'linked' | 'copied' | 'copied-exdev' | 'missing'> {
  let exdev = false;
  if (o.tryLink) {
    try {
      linkSync(o.from, o.to);
      return 'linked';
    } catch (e: unknown) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return 'missing';
      if (!['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP'].includes(code ?? '')) throw e;
      exdev = code === 'EXDEV';
    }
  }
  try {
    await copyFile(o.from, o.to);
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw e;
  }
  return exdev ? 'copied-exdev' : 'copied';
}

/**
 * A compose record naming the manifest and every blob the tree links to, so gc keeps
 * them; in the same index session, the METADATA blobs this compose read out of zips.
 */
async function record(o: { store: Store; name: string; manifest: Digest; blobs: Digest[]; files: ComposeFile[]; cache: Array<{ wheel: Digest; metadata: Digest }> }): Promise<Result<string, WeldError>> {
  const id = `wheelhouse/${o.name}`;
  const blobs = [...new Set(o.blobs)].sort();
  const written = await o.store.withIndex('write the compose record', async (s) => {
    const w = await s.writeRecords([{ kind: 'compose', id, data: { name: o.name, type: 'wheelhouse', manifest: o.manifest, blobs, files: o.files, createdAt: new Date().toISOString() } }]);
    // A cache that failed to write costs a zip read next time, nothing else.
    if (w.ok) await s.batch(metadataCacheOps(o.cache));
    return w;
  });
  if (!written.ok) return written;
  if (!written.value.ok) return written.value;
  return ok(id);
}
