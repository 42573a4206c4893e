import { err, ok, type Result } from '../core/result.js';
import { isDigest, type Digest } from './digest.js';
import { RecordDecodeError, RecordInvalidError } from './errors.js';

/** One built output of a build. */
export interface BuildOutput {
  name: string;
  digest: Digest;
  size: number;
}

/** What the wheel repair step did to one wheel (recipes/lib/repair_wheel.py's report, abridged). */
export interface RepairedWheel {
  /** the recipe's wheel */
  input: string;
  /** the stored wheel */
  output: string;
  /** the output's platform tag(s), e.g. manylinux_2_17_s390x.manylinux2014_s390x */
  tag: string;
  /** repaired, or kept (pure wheel, policy none) */
  action: 'repaired' | 'kept';
  /** libraries copied into the wheel: soname, path in the wheel, where it came from */
  grafted: Array<{ soname: string; file: string; source: { dependency: string; path: string } | { system: string } }>;
  /** why the tag is not a more compatible one: the symbol versions (or libraries) that set it */
  setBy: string[];
}

/** The wheel repair step of a wheel build: its inputs and what it did. */
export interface RepairRecord {
  policy: string;
  /** digest of the repair program (a blob, like the recipe) */
  program: Digest;
  /** the full JSON report (a blob); null when every wheel was pure and the step did not run */
  report: Digest | null;
  wheels: RepairedWheel[];
}

/** Everything a build consumed and produced; keyed by its cache key (DESIGN.md "Builds"). */
export interface BuildRecord {
  cacheKey: Digest;
  package: string;
  version: string;
  release: number;
  arch: string;
  envImage: Digest;
  /** git tree oid of the distro commit */
  sourceTree: string;
  recipe: { name: string; digest: Digest };
  /** package name → the output digests of that build dependency */
  dependencies: Record<string, Digest[]>;
  outputs: BuildOutput[];
  log: Digest | null;
  timings: { startedAt: string; finishedAt: string; durationMs: number };
  runner: string;
  weldVersion: string;
  /** the provenance statement, itself a blob */
  provenance: Digest | null;
  /** wheel builds: the repair step (absent in records written before it existed) */
  repair?: RepairRecord;
  /** substituted from a store remote (absent for records made here); not part of what was signed */
  origin?: RecordOrigin;
  /**
   * A pure (`-none-any`) wheel made for another target of the distro and taken for this
   * key instead of building again: that build's key, arch and env image. The outputs,
   * log and provenance are that build's.
   */
  sharedFrom?: { cacheKey: Digest; arch: string; envImage: Digest };
}

/** Where a record pulled from a store remote came from. */
export interface RecordOrigin {
  /** oci://HOST[:PORT]/REPO */
  remote: string;
  /** the trusted key whose signature it carried */
  keyId: string;
  pulledAt: string;
}

/** What a wheel's test ran: `[test]` as the metadata gave it. */
export interface TestSpecRecord {
  imports: string[];
  commands: string[];
  requires: string[];
}

/**
 * One run of a wheel's test (DESIGN.md "Tested on its arch"); keyed by its test key.
 * A passed one is reused for the same key; a failed one is kept so status can show
 * why, and the next build runs the test again.
 */
export interface TestRecord {
  testKey: Digest;
  package: string;
  /** the cache key of the build whose wheels were tested */
  build: Digest;
  wheels: Digest[];
  /** every other wheel installed for the test: run-time and test requirements, transitively */
  requirements: Record<string, Digest[]>;
  env: string;
  envImage: Digest;
  arch: string;
  spec: TestSpecRecord;
  /** the test step's program (recipes/lib/test-step.sh and its Python) */
  program: Digest;
  passed: boolean;
  /** why it failed, a sentence */
  failure?: string;
  log: Digest | null;
  timings: { startedAt: string; finishedAt: string; durationMs: number };
  runner: string;
  weldVersion: string;
  /** substituted from a store remote */
  origin?: RecordOrigin;
}

/** A builder or runtime image composed from an env's lock. */
export interface EnvImageRecord {
  env: string;
  arch: string;
  lock: Digest;
  /** the OCI image manifest; config and layers are blobs too */
  manifest: Digest;
  config: Digest;
  layers: Digest[];
  createdAt: string;
  /** substituted from a store remote (absent for images composed here); not part of what was signed */
  origin?: RecordOrigin;
}

export interface ComposeRecord {
  name: string;
  type: 'wheelhouse' | 'image';
  manifest: Digest;
  blobs: Digest[];
  /**
   * A wheelhouse's tree: each file's path under the out directory and the blob it is,
   * so the wheelhouse can be pushed from the store and laid out again elsewhere (absent
   * in records written before it existed, and for images: their manifest names their blobs).
   */
  files?: ComposeFile[];
  createdAt: string;
}

export interface ComposeFile {
  path: string;
  digest: Digest;
  size: number;
}

/** A name that keeps blobs alive through gc. */
export interface RootRecord {
  name: string;
  digests: Digest[];
  createdAt: string;
}

export interface RecordTypes {
  build: BuildRecord;
  test: TestRecord;
  env: EnvImageRecord;
  compose: ComposeRecord;
  root: RootRecord;
}
export type RecordKind = keyof RecordTypes;
export const RECORD_KINDS: RecordKind[] = ['build', 'test', 'env', 'compose', 'root'];

/** What verify --repair sets on a record whose blobs went missing; builds treat it as a cache miss. */
export interface BrokenMark {
  at: string;
  missing: Digest[];
  reason: string;
}

export interface StoredRecord<K extends RecordKind = RecordKind> {
  kind: K;
  id: string;
  data: RecordTypes[K];
  broken?: BrokenMark;
}

// The envelope's `v` is bumped whenever a kind's shape changes; `decode` knows every
// version it ever wrote, so an old index keeps reading after an upgrade.
const VERSION: Record<RecordKind, number> = { build: 1, test: 1, env: 1, compose: 1, root: 1 };

interface Envelope {
  v: number;
  kind: RecordKind;
  data: unknown;
  broken?: BrokenMark;
}

export const RECORD_PREFIX = 'r/';

export function recordKey(kind: RecordKind, id: string): string {
  return `${RECORD_PREFIX}${kind}/${id}`;
}

export function splitRecordKey(key: string): { kind: string; id: string } | undefined {
  const m = /^r\/([a-z]+)\/(.+)$/s.exec(key);
  return m ? { kind: m[1]!, id: m[2]! } : undefined;
}

export function encodeRecord(r: StoredRecord): string {
  // The broken mark goes first, so a look-up can see it without parsing the record (isBrokenEncoding).
  const env: Envelope = { ...(r.broken ? { broken: r.broken } : {}), v: VERSION[r.kind], kind: r.kind, data: r.data };
  return JSON.stringify(env);
}

export function decodeRecord(key: string, value: string): Result<StoredRecord, RecordDecodeError> {
  const where = splitRecordKey(key);
  let env: Partial<Envelope>;
  try {
    env = JSON.parse(value) as Partial<Envelope>;
  } catch {
    return err(new RecordDecodeError(key, 'not JSON'));
  }
  if (!where || !(RECORD_KINDS as string[]).includes(where.kind) || env.kind !== where.kind) return err(new RecordDecodeError(key, `unknown record kind "${String(env.kind)}"`));
  const kind = env.kind;
  if (env.v !== VERSION[kind]) return err(new RecordDecodeError(key, `encoding version ${String(env.v)} of "${kind}" records is not known to this weld (it knows ${VERSION[kind]})`));
  if (typeof env.data !== 'object' || env.data === null) return err(new RecordDecodeError(key, 'no data'));
  return ok({ kind, id: where.id, data: env.data as RecordTypes[typeof kind], ...(env.broken ? { broken: env.broken } : {}) });
}

export function withMark(r: StoredRecord, mark: BrokenMark | null): StoredRecord {
  const { broken: _old, ...rest } = r;
  return mark ? { ...rest, broken: mark } : rest;
}

/** Every blob a record keeps alive and needs present. */
export function referencedDigests(r: StoredRecord): Digest[] {
  const out: unknown[] = [];
  switch (r.kind) {
    case 'build': {
      const b = r.data as BuildRecord;
      out.push(b.envImage, b.recipe?.digest, b.log, b.provenance, b.repair?.program, b.repair?.report, ...(b.outputs ?? []).map((o) => o.digest));
      for (const ds of Object.values(b.dependencies ?? {})) out.push(...ds);
      break;
    }
    case 'test': {
      const t = r.data as TestRecord;
      out.push(t.envImage, t.program, t.log, ...(t.wheels ?? []));
      for (const ds of Object.values(t.requirements ?? {})) out.push(...ds);
      break;
    }
    case 'env': {
      const e = r.data as EnvImageRecord;
      out.push(e.lock, e.manifest, e.config, ...(e.layers ?? []));
      break;
    }
    case 'compose': {
      const c = r.data as ComposeRecord;
      out.push(c.manifest, ...(c.blobs ?? []), ...(c.files ?? []).map((f) => f.digest));
      break;
    }
    case 'root':
      out.push(...((r.data as RootRecord).digests ?? []));
      break;
  }
  return [...new Set(out.filter((d): d is Digest => isDigest(d)))];
}

/** Shape checks at write time, so a bad record is refused instead of stored. */
export function validateRecord(r: StoredRecord): Result<void, RecordInvalidError> {
  const key = recordKey(r.kind, r.id);
  if (!(RECORD_KINDS as string[]).includes(r.kind)) return err(new RecordInvalidError(key, `unknown kind "${r.kind}"`));
  if (r.id === '' || /[\x00-\x1f]/.test(r.id)) return err(new RecordInvalidError(key, 'the id is empty or has control characters'));
  const bad = digestFields(r).find(([, v]) => !isDigest(v));
  if (bad) return err(new RecordInvalidError(key, `${bad[0]} is ${JSON.stringify(bad[1])}, not a sha256:<64 hex> digest`));
  if (r.kind === 'build') {
    const b = r.data as BuildRecord;
    if (b.cacheKey !== r.id) return err(new RecordInvalidError(key, `the id must be the cache key ${b.cacheKey}`));
    if (b.repair !== undefined && (typeof b.repair.policy !== 'string' || !Array.isArray(b.repair.wheels))) return err(new RecordInvalidError(key, 'repair needs a policy and a list of wheels'));
  }
  if (r.kind === 'test') {
    const t = r.data as TestRecord;
    if (t.testKey !== r.id) return err(new RecordInvalidError(key, `the id must be the test key ${t.testKey}`));
    if (typeof t.passed !== 'boolean') return err(new RecordInvalidError(key, 'passed must be true or false'));
  }
  const nameField = r.kind === 'env' ? 'env' : r.kind === 'build' || r.kind === 'test' ? 'package' : 'name';
  const name = (r.data as unknown as Record<string, unknown>)[nameField];
  if (typeof name !== 'string' || name === '') return err(new RecordInvalidError(key, `${nameField} is missing`));
  return ok(undefined);
}

function digestFields(r: StoredRecord): Array<[string, unknown]> {
  const f: Array<[string, unknown]> = [];
  const many = (name: string, v: unknown) => (Array.isArray(v) ? v.forEach((d, i) => f.push([`${name}[${i}]`, d])) : f.push([name, v]));
  switch (r.kind) {
    case 'build': {
      const b = r.data as BuildRecord;
      f.push(['cacheKey', b.cacheKey], ['envImage', b.envImage], ['recipe.digest', b.recipe?.digest]);
      if (b.log !== null) f.push(['log', b.log]);
      if (b.provenance !== null) f.push(['provenance', b.provenance]);
      if (b.repair !== undefined) {
        f.push(['repair.program', b.repair.program]);
        if (b.repair.report !== null) f.push(['repair.report', b.repair.report]);
      }
      many('outputs', (b.outputs ?? []).map((o) => o.digest));
      for (const [dep, ds] of Object.entries(b.dependencies ?? {})) many(`dependencies.${dep}`, ds);
      break;
    }
    case 'test': {
      const t = r.data as TestRecord;
      f.push(['testKey', t.testKey], ['build', t.build], ['envImage', t.envImage], ['program', t.program]);
      if (t.log !== null) f.push(['log', t.log]);
      many('wheels', t.wheels);
      for (const [dep, ds] of Object.entries(t.requirements ?? {})) many(`requirements.${dep}`, ds);
      break;
    }
    case 'env': {
      const e = r.data as EnvImageRecord;
      f.push(['lock', e.lock], ['manifest', e.manifest], ['config', e.config]);
      many('layers', e.layers);
      break;
    }
    case 'compose': {
      const c = r.data as ComposeRecord;
      f.push(['manifest', c.manifest]);
      many('blobs', c.blobs);
      if (c.files !== undefined) many('files', c.files.map((x) => x.digest));
      break;
    }
    case 'root':
      many('digests', (r.data as RootRecord).digests);
      break;
  }
  return f;
}

/** Secondary keys a record maintains, so "which builds of pyyaml?" is a range scan. */
export function secondaryKeys(r: StoredRecord): string[] {
  if (r.kind === 'build') return [`x/package/${(r.data as BuildRecord).package}/${r.id}`];
  return [];
}

/** Whether an encoded record carries a broken mark: its first key (see encodeRecord). */
export function isBrokenEncoding(value: string): boolean {
  return value.startsWith('{"broken":');
}
