import { quote } from '../core/diagnostics.js';
import { parseByteSize } from '../util/bytes.js';
import type { Arch } from './names.js';
import type { Distro } from './model.js';
import { checkArch } from './env-file.js';
import { repairPolicyProblem } from './repair-policy.js';
import { checkShape, type FileSpec, type Problem } from './schema.js';
import type { TomlTable } from './toml.js';

export const DISTRO_SPEC: FileSpec = {
  distro: {
    required: true,
    hint: 'add [distro] with name, arch and env (the default builder env)',
    fields: {
      name: { kind: 'string', required: true, example: 'name = "weld-sample"' },
      // required unless [[target]] tables give them (checkTargets)
      arch: { kind: 'string', example: 'arch = "s390x"' },
      env: { kind: 'string', example: 'env = "bookworm-s390x"' },
      repair: { kind: 'string', example: 'repair = "manylinux"' },
      runtime_env: { kind: 'string', example: 'runtime_env = "bookworm-s390x-runtime"' },
    },
  },
  target: {
    array: true,
    fields: {
      name: { kind: 'string', required: true, example: 'name = "s390x-py311"' },
      env: { kind: 'string', required: true, example: 'env = "bookworm-s390x"' },
      arch: { kind: 'string', example: 'arch = "s390x"' },
      runtime_env: { kind: 'string', example: 'runtime_env = "bookworm-s390x-runtime"' },
    },
  },
  paths: {
    fields: {
      store: { kind: 'string', example: 'store = "store"' },
      mirrors: { kind: 'string', example: 'mirrors = "mirrors"' },
    },
  },
  sources: {
    fields: {
      allow_paths: { kind: 'string-array', example: 'allow_paths = ["/srv/upstreams"]' },
    },
  },
  store: {
    fields: {
      remote: { kind: 'string', example: 'remote = "oci://registry.example.com/weld/cache"' },
      push: { kind: 'boolean', example: 'push = true' },
      trusted_keys: { kind: 'string-array', example: 'trusted_keys = ["ci-1:BASE64…"]' },
      tls_verify: { kind: 'boolean', example: 'tls_verify = false' },
    },
  },
  mirror: {
    fields: {
      max_unpacked_size: { kind: 'integer-or-string', example: 'max_unpacked_size = "8GiB"' },
      max_entries: { kind: 'integer', example: 'max_entries = 1000000' },
    },
  },
};

/** A `[[target]]` as its table wrote it; `index` is its place in the array, for locating problems. */
export interface TargetDraft {
  index: number;
  name?: string;
  arch?: Arch;
  env?: string;
  runtimeEnv?: string;
}

export type DistroDraft = Partial<Omit<Distro, 'targets'>> & Pick<Distro, 'file'> & { targetDrafts: TargetDraft[] };

const TARGET_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function checkDistroFile(opts: { file: string; doc: TomlTable; problems: Problem[] }): DistroDraft {
  const { file, doc, problems } = opts;
  const t = checkShape(doc, DISTRO_SPEC, problems);
  const d = t['distro']?.[0] ?? {};
  const paths = t['paths']?.[0] ?? {};
  const allowPaths = (t['sources']?.[0]?.['allow_paths'] as string[] | undefined) ?? undefined;
  allowPaths?.forEach((p, i) => {
    if (p === '') problems.push({ path: ['sources', 'allow_paths', i], anchor: 'value', message: 'allow_paths entries must not be empty; give an absolute path or one relative to the project root' });
  });
  const mirror = checkMirror(t['mirror']?.[0] ?? {}, problems);
  const store = checkStore(t['store']?.[0], problems);
  const name = d['name'] as string | undefined;
  if (name !== undefined && !/^[a-z0-9][a-z0-9._-]*$/.test(name)) {
    problems.push({ path: ['distro', 'name'], anchor: 'value', message: `distro name ${quote(name)} must be lowercase letters, digits, ".", "_" or "-" (it names images and composes)` });
  }
  const arch = checkArch(d['arch'], ['distro', 'arch'], problems);
  const targetDrafts = checkTargetTables(t['target'] ?? [], { distro: d, problems });
  const repair = typeof d['repair'] === 'string' ? d['repair'] : undefined;
  const repairProblem = repair === undefined ? undefined : repairPolicyProblem(repair);
  if (repairProblem) problems.push({ path: ['distro', 'repair'], anchor: 'value', message: repairProblem });
  return {
    file,
    targetDrafts,
    ...(name !== undefined ? { name } : {}),
    ...(arch ? { arch } : {}),
    ...(typeof d['env'] === 'string' ? { defaultEnv: d['env'] } : {}),
    ...(typeof d['runtime_env'] === 'string' ? { runtimeEnv: d['runtime_env'] } : {}),
    ...(repair !== undefined && !repairProblem ? { repairPolicy: repair } : {}),
    ...(typeof paths['store'] === 'string' ? { storePath: paths['store'] } : {}),
    ...(typeof paths['mirrors'] === 'string' ? { mirrorsPath: paths['mirrors'] } : {}),
    ...(allowPaths ? { allowPaths } : {}),
    ...(mirror ? { mirror } : {}),
    ...(store ? { store } : {}),
  };
}

/**
 * `[[target]]` tables: their own fields. Whether their envs exist and agree on the arch
 * is for the cross-check; here, names and the choice between [[target]] and
 * `[distro] arch/env`, which say the same thing and must not both be given.
 */
function checkTargetTables(tables: TomlTable[], o: { distro: TomlTable; problems: Problem[] }): TargetDraft[] {
  const { distro, problems } = o;
  if (tables.length === 0) {
    for (const key of ['arch', 'env']) {
      if (!(key in distro)) problems.push({ path: ['distro'], anchor: 'table', message: `[distro] needs ${key} (${key === 'arch' ? 'arch = "s390x"' : 'env = "bookworm-s390x"'}), or [[target]] tables that give each target's arch and env` });
    }
    return [];
  }
  for (const key of ['arch', 'env', 'runtime_env']) {
    if (key in distro) problems.push({ path: ['distro', key], anchor: 'key', message: `[distro] ${key} and [[target]] tables both say what is built; with targets, give ${key} in each [[target]] and remove it here` });
  }
  const seen = new Map<string, number>();
  return tables.map((tt, index) => {
    const name = typeof tt['name'] === 'string' ? tt['name'] : undefined;
    if (name !== undefined && !TARGET_NAME.test(name)) problems.push({ path: ['target', index, 'name'], anchor: 'value', message: `target name ${quote(name)} must be 1-63 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit (it names builds, columns and images)` });
    else if (name !== undefined && seen.has(name)) problems.push({ path: ['target', index, 'name'], anchor: 'value', message: `target ${quote(name)} is named twice (also [[target]] number ${seen.get(name)! + 1}); target names must differ` });
    if (name !== undefined) seen.set(name, seen.get(name) ?? index);
    const arch = checkArch(tt['arch'], ['target', index, 'arch'], problems);
    return {
      index,
      ...(name !== undefined ? { name } : {}),
      ...(arch ? { arch } : {}),
      ...(typeof tt['env'] === 'string' ? { env: tt['env'] } : {}),
      ...(typeof tt['runtime_env'] === 'string' ? { runtimeEnv: tt['runtime_env'] } : {}),
    };
  });
}

/**
 * `[store]`: the shared store remote. The URL and keys are checked for their form here, so
 * `weld check` reports them at file:line:col; connecting is the store's business.
 */
function checkStore(s: TomlTable | undefined, problems: Problem[]): Distro['store'] {
  if (!s) return undefined;
  const out: NonNullable<Distro['store']> = {};
  const remote = s['remote'];
  if (typeof remote === 'string') {
    const m = /^oci:\/\/([^/\s]+)\/(\S+)$/.exec(remote);
    if (!m) problems.push({ path: ['store', 'remote'], anchor: 'value', message: `remote ${quote(remote)} is not oci://HOST[:PORT]/REPO (e.g. "oci://registry.example.com/weld/cache")` });
    else out.remote = remote;
  }
  if (typeof s['push'] === 'boolean') out.push = s['push'];
  if (typeof s['tls_verify'] === 'boolean') out.tlsVerify = s['tls_verify'];
  const keys = s['trusted_keys'];
  if (Array.isArray(keys)) {
    const good: string[] = [];
    keys.forEach((k, i) => {
      if (typeof k === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}:[A-Za-z0-9+/]{43}=$/.test(k.trim())) good.push(k.trim());
      else problems.push({ path: ['store', 'trusted_keys', i], anchor: 'value', message: `${quote(String(k).slice(0, 80))} is not a public key: write NAME:BASE64 as \`weld key public\` prints it` });
    });
    out.trustedKeys = good;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** `[mirror]`: the limits a release tarball is imported under. */
function checkMirror(m: TomlTable, problems: Problem[]): Distro['mirror'] {
  const out: NonNullable<Distro['mirror']> = {};
  const size = m['max_unpacked_size'] as number | string | undefined;
  if (size !== undefined) {
    const bytes = parseByteSize(size);
    if (bytes === undefined) problems.push({ path: ['mirror', 'max_unpacked_size'], anchor: 'value', message: `max_unpacked_size ${JSON.stringify(size)} is not a size: write a number of bytes or a number with B, KiB, MiB, GiB or TiB, e.g. "8GiB"` });
    else out.maxUnpackedBytes = bytes;
  }
  const entries = m['max_entries'] as number | undefined;
  if (entries !== undefined) {
    if (entries < 1) problems.push({ path: ['mirror', 'max_entries'], anchor: 'value', message: `max_entries must be at least 1, not ${entries}` });
    else out.maxEntries = entries;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
