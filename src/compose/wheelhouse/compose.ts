import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import type { WeldError } from '../../core/errors.js';
import { err, ok, type Result } from '../../core/result.js';
import { normalizeName } from '../../metadata/names.js';
import { digestBytes, hexOf, type Digest } from '../../store/digest.js';
import type { BuildRecord } from '../../store/records.js';
import type { Store } from '../../store/store.js';
import { WheelInvalidError } from '../errors.js';
import type { WheelName } from '../wheel/name.js';
import { wheelOutputs, type BuildOutput } from '../wheel/outputs.js';
import { WheelhouseOutError } from './errors.js';
import type { WheelhouseEvent } from './events.js';
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
  onEvent?: (e: WheelhouseEvent) => void;
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
  const { wheels, linked, copied, files, learned, kept } = written.value;
  const manifest = renderManifest({ name: o.name, wheels });
  const sbom = renderSbom({ name: o.name, wheels, manifest, tool: o.tool });
  const manifestBytes = Buffer.from(manifest);
  const sbomBytes = Buffer.from(sbom);
  files.push({ path: path.join(tmp, 'manifest.json'), bytes: manifestBytes }, { path: path.join(tmp, SBOM_FILE), bytes: sbomBytes });
  const inStore = new Set(await placeTreeFiles({ store: o.store, files, limit, kept }));
  // The store keeps the manifest and the SBOM even when the tree could not link to them.
  for (const bytes of [manifestBytes, sbomBytes]) {
    if (inStore.has(digestBytes(bytes))) continue;
    const put = await o.store.put([bytes]);
    if (!put.ok) return put;
    inStore.add(put.value.digest);
  }
  const manifestDigest = digestBytes(manifestBytes);
  const swapped = await swapInto({ tmp, out });
  if (!swapped.ok) return swapped;
  // The old tree is out of sight already: deleting it overlaps writing the record.
  const blobs = [...wheels.map((w) => w.digest), ...inStore];
  const cache = learned.filter((l) => inStore.has(l.metadata));
  const [recorded] = await Promise.all([record({ store: o.store, name: o.name, manifest: manifestDigest, blobs, cache }), swapped.value.removeOld()]);
  if (!recorded.ok) return recorded;
  o.onEvent?.({ type: 'written', out, wheels: wheels.length, projects: new Set(wheels.map((w) => w.project)).size });
  return ok({ out, manifest: manifestDigest, recordId: recorded.value, wheels, linked, copied });
}

interface TreeWritten {
  wheels: WheelEntry[];
  linked: number;
  copied: number;
  /** the small files still to place: PEP 658 metadata and the index pages */
  files: TreeFile[];
  /** METADATA read out of zips this time, for the index to remember */
  learned: Array<{ wheel: Digest; metadata: Digest }>;
  /** blobs the compose's current record keeps */
  kept: Set<Digest>;
}

async function writeTree(o: ComposeWheelhouseOptions & { tmp: string; limit: LimitFunction }): Promise<Result<TreeWritten, WeldError>> {
  const planned = planWheels(o.builds);
  if (!planned.ok) return planned;
  const { limit } = o;
  // A project's directory needs only its name (the file name's, which METADATA must
  // match), so the directories are made while the wheels are placed and read: creating
  // entries is most of a compose's time, and these go to other directories than wheels/.
  const projects = [...new Set(planned.value.map(({ name }) => normalizeName(name.distribution)))];
  // Their own limit, or they would queue behind every wheel.
  const dirLimit = pLimit(4);
  const dirs = mkdir(path.join(o.tmp, 'simple')).then(() => Promise.all(projects.map((p) => dirLimit(() => mkdir(path.join(o.tmp, 'simple', p))))));
  // Settled here so a wheel's failure never leaves it unhandled.
  const dirsMade = dirs.then(() => undefined, (e: unknown) => e);
  const { metadata: cached, kept } = await readComposeIndex({ store: o.store, name: o.name, wheels: planned.value.map(({ output }) => output.digest) });
  // After one EXDEV (store on another file system) every link would fail the same way.
  let canLink = true;
  let linked = 0;
  let copied = 0;
  const files: TreeFile[] = [];
  const learned: TreeWritten['learned'] = [];
  const results = await Promise.all(
    planned.value.map(({ build, output, name }) =>
      limit(async (): Promise<Result<WheelEntry, WeldError>> => {
        const blob = await o.store.stat(output.digest);
        if (!blob.ok) return err(new WheelInvalidError(`${build.package}: its wheel ${output.name} (${output.digest}) is missing from the store`, 'run `weld store verify --repair`, then build it again'));
        const dest = path.join(o.tmp, 'wheels', output.name);
        const placed = await placeWheel({ from: blob.value.path, to: dest, tryLink: canLink });
        if (placed === 'copied-exdev') canLink = false;
        if (placed === 'linked') linked++;
        else copied++;
        o.onEvent?.({ type: 'wheel', file: output.name, placed: placed === 'linked' ? 'linked' : 'copied' });
        const remembered = cached.get(output.digest);
        const hit = remembered && (await cachedMetadata(o.store, remembered));
        const meta = hit ? { bytes: hit } : await readWheelMetadata({ file: blob.value.path, name });
        if ('reason' in meta) return err(new WheelInvalidError(`${build.package}: wheel ${output.name}: ${meta.reason}`, 'a wheel needs <dist>-<version>.dist-info/METADATA; check the recipe'));
        const core = parseCoreMetadata(meta.bytes.toString('utf8'));
        if (typeof core === 'string') return err(new WheelInvalidError(`${build.package}: wheel ${output.name}: its METADATA cannot be read: ${core}`));
        if (normalizeName(core.name) !== normalizeName(name.distribution) || core.version !== name.version) {
          return err(new WheelInvalidError(`${build.package}: wheel ${output.name}: its METADATA says ${core.name} ${core.version}, the file name says ${name.distribution} ${name.version}`, 'an index built from it would lie to pip; fix the recipe or the project'));
        }
        const metaDigest = hit ? remembered : digestBytes(meta.bytes);
        if (!hit) learned.push({ wheel: output.digest, metadata: metaDigest });
        files.push({ path: `${dest}.metadata`, bytes: meta.bytes });
        const license = build.license ?? core.license;
        return ok({
          project: normalizeName(core.name),
          name: core.name,
          version: core.version,
          file: output.name,
          sha256: hexOf(output.digest),
          size: output.size,
          ...(core.requiresPython ? { requiresPython: core.requiresPython } : {}),
          metadataSha256: hexOf(metaDigest),
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
      }),
    ),
  ).finally(() => dirsMade);
  const wheels: WheelEntry[] = [];
  for (const r of results) {
    if (!r.ok) return r;
    wheels.push(r.value);
  }
  const dirsError = await dirsMade;
  if (dirsError !== undefined) throw dirsError;
  for (const [file, text] of renderIndex(wheels)) files.push({ path: path.join(o.tmp, file), bytes: Buffer.from(text) });
  return ok({ wheels, linked, copied, files, learned, kept });
}

/** The wheel outputs of the builds, checked: valid file names, no two the same. */
function planWheels(builds: WheelhouseBuild[]): Result<Array<{ build: WheelhouseBuild; output: BuildOutput; name: WheelName }>, WheelInvalidError> {
  const out: Array<{ build: WheelhouseBuild; output: BuildOutput; name: WheelName }> = [];
  const owner = new Map<string, string>();
  for (const build of builds) {
    const wheels = wheelOutputs(build.package, build.record);
    if (!wheels.ok) return wheels;
    for (const { output, name } of wheels.value) {
      const other = owner.get(output.name);
      if (other) return err(new WheelInvalidError(`${output.name} is an output of both ${other} and ${build.package}`, 'two packages of one compose cannot build the same wheel file'));
      owner.set(output.name, build.package);
      out.push({ build, output, name });
    }
  }
  return ok(out);
}

/** A hard link shares the store's read-only blob; a copy when linking is not possible. */
async function placeWheel(o: { from: string; to: string; tryLink: boolean }): Promise<'linked' | 'copied' | 'copied-exdev'> {
  if (o.tryLink) {
    try {
      await link(o.from, o.to);
      return 'linked';
    } catch (e: unknown) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP'].includes(code ?? '')) throw e;
      await copyFile(o.from, o.to);
      return code === 'EXDEV' ? 'copied-exdev' : 'copied';
    }
  }
  await copyFile(o.from, o.to);
  return 'copied';
}

/**
 * A compose record naming the manifest and every blob the tree links to, so gc keeps
 * them; in the same index session, the METADATA blobs this compose read out of zips.
 */
async function record(o: { store: Store; name: string; manifest: Digest; blobs: Digest[]; cache: Array<{ wheel: Digest; metadata: Digest }> }): Promise<Result<string, WeldError>> {
  const id = `wheelhouse/${o.name}`;
  const blobs = [...new Set(o.blobs)].sort();
  const written = await o.store.withIndex('write the compose record', async (s) => {
    const w = await s.writeRecords([{ kind: 'compose', id, data: { name: o.name, type: 'wheelhouse', manifest: o.manifest, blobs, createdAt: new Date().toISOString() } }]);
    // A cache that failed to write costs a zip read next time, nothing else.
    if (w.ok) await s.batch(metadataCacheOps(o.cache));
    return w;
  });
  if (!written.ok) return written;
  if (!written.value.ok) return written.value;
  return ok(id);
}
