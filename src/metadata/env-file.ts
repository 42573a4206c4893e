import { quote } from '../core/diagnostics.js';
import { closest } from '../util/suggest.js';
import type { Env, EnvKind, EnvLock, LockedDeb } from './model.js';
import { ARCHES, isDebianPackageName, isSha256Hex, type Arch } from './names.js';
import { checkShape, type FileSpec, type Problem } from './schema.js';
import type { TomlTable } from './toml.js';

export const ENV_SPEC: FileSpec = {
  env: {
    required: true,
    hint: 'add [env] with kind, arch, suite and packages',
    fields: {
      kind: { kind: 'string', required: true, example: 'kind = "builder"' },
      arch: { kind: 'string', required: true, example: 'arch = "s390x"' },
      suite: { kind: 'string', required: true, example: 'suite = "bookworm"' },
      components: { kind: 'string-array', example: 'components = ["main"]' },
      packages: { kind: 'string-array', required: true, example: 'packages = ["python3", "gcc"]' },
    },
  },
};

export const LOCK_SPEC: FileSpec = {
  lock: {
    required: true,
    hint: 'regenerate the lock with `weld env lock`',
    fields: {
      inputs: { kind: 'string', required: true, example: 'inputs = "sha256:<64 hex digits>"' },
      suite: { kind: 'string', required: true, example: 'suite = "bookworm"' },
      arch: { kind: 'string', required: true, example: 'arch = "s390x"' },
    },
  },
  deb: {
    array: true,
    fields: {
      name: { kind: 'string', required: true, example: 'name = "python3"' },
      version: { kind: 'string', required: true, example: 'version = "3.11.2-1+b1"' },
      arch: { kind: 'string', required: true, example: 'arch = "s390x"' },
      path: { kind: 'string', required: true, example: 'path = "pool/main/p/python3-defaults/python3_3.11.2-1+b1_s390x.deb"' },
      sha256: { kind: 'string', required: true, example: 'sha256 = "<64 hex digits>"' },
      size: { kind: 'integer', required: true, example: 'size = 26140' },
    },
  },
};

const KINDS: EnvKind[] = ['builder', 'runtime'];

export type EnvDraft = Partial<Omit<Env, 'lock'>> & Pick<Env, 'name' | 'file'>;

export function checkArch(value: unknown, path: Array<string | number>, problems: Problem[]): Arch | undefined {
  if (typeof value !== 'string') return undefined;
  if ((ARCHES as readonly string[]).includes(value)) return value as Arch;
  const guess = closest(value, ARCHES);
  problems.push({ path, anchor: 'value', message: `unknown arch ${quote(value)}; ${guess ? `did you mean ${quote(guess)}? ` : ''}valid arches (Debian names): ${ARCHES.join(', ')}` });
  return undefined;
}

export function checkEnvFile(opts: { file: string; name: string; doc: TomlTable; problems: Problem[] }): EnvDraft {
  const { file, name, doc, problems } = opts;
  const e = checkShape(doc, ENV_SPEC, problems)['env']?.[0] ?? {};
  const kind = e['kind'] as string | undefined;
  if (kind !== undefined && !KINDS.includes(kind as EnvKind)) {
    const guess = closest(kind, KINDS);
    problems.push({ path: ['env', 'kind'], anchor: 'value', message: `unknown env kind ${quote(kind)}; ${guess ? `did you mean ${quote(guess)}? ` : ''}valid kinds: builder (builds run in it), runtime (composed images start from it)` });
  }
  const arch = checkArch(e['arch'], ['env', 'arch'], problems);
  const packages = (e['packages'] as string[] | undefined) ?? [];
  if (Array.isArray(e['packages']) && packages.length === 0) {
    problems.push({ path: ['env', 'packages'], anchor: 'value', message: 'packages must list at least one Debian package' });
  }
  const seen = new Set<string>();
  packages.forEach((p, i) => {
    if (!isDebianPackageName(p)) {
      problems.push({ path: ['env', 'packages', i], anchor: 'value', message: `${quote(p)} is not a Debian package name (lowercase letters, digits, "+", "-", "."; optionally ":arch")` });
    } else if (seen.has(p)) {
      problems.push({ path: ['env', 'packages', i], anchor: 'value', message: `${quote(p)} is listed twice in packages` });
    }
    seen.add(p);
  });
  const suite = e['suite'] as string | undefined;
  if (suite !== undefined && !/^[a-z][a-z0-9-]*$/.test(suite)) {
    problems.push({ path: ['env', 'suite'], anchor: 'value', message: `suite ${quote(suite)} is not a Debian suite or codename (e.g. "bookworm", "bookworm-updates")` });
  }
  return {
    name,
    file,
    packages,
    components: (e['components'] as string[] | undefined) ?? ['main'],
    ...(KINDS.includes(kind as EnvKind) ? { kind: kind as EnvKind } : {}),
    ...(arch ? { arch } : {}),
    ...(suite !== undefined ? { suite } : {}),
  };
}

export function checkLockFile(opts: { file: string; doc: TomlTable; problems: Problem[] }): EnvLock {
  const { file, doc, problems } = opts;
  const t = checkShape(doc, LOCK_SPEC, problems);
  const inputs = (t['lock']?.[0]?.['inputs'] as string | undefined) ?? '';
  if (inputs && !/^sha256:[0-9a-f]{64}$/.test(inputs)) {
    problems.push({ path: ['lock', 'inputs'], anchor: 'value', message: 'inputs must be "sha256:" and 64 hex digits; regenerate the lock with `weld env lock`' });
  }
  const lock = t['lock']?.[0] ?? {};
  const arch = checkArch(lock['arch'], ['lock', 'arch'], problems);
  const debs: LockedDeb[] = [];
  (t['deb'] ?? []).forEach((d, i) => {
    if (typeof d['sha256'] === 'string' && !isSha256Hex(d['sha256'])) {
      problems.push({ path: ['deb', i, 'sha256'], anchor: 'value', message: 'sha256 must be 64 lowercase hex digits; regenerate the lock with `weld env lock`' });
    }
    // the path is joined to a mirror URL: it must stay inside the archive's pool
    if (typeof d['path'] === 'string' && (!/^pool\/[^\0]+\.deb$/.test(d['path']) || d['path'].split('/').some((c) => c === '..' || c === '.' || c === ''))) {
      problems.push({ path: ['deb', i, 'path'], anchor: 'value', message: 'path must be an archive pool path like "pool/main/b/bash/bash_5.2.15-2+b2_s390x.deb"; regenerate the lock with `weld env lock`' });
    }
    if (typeof d['size'] === 'number' && d['size'] < 0) {
      problems.push({ path: ['deb', i, 'size'], anchor: 'value', message: 'size must not be negative' });
    }
    if (['name', 'version', 'arch', 'path', 'sha256', 'size'].every((k) => k in d)) debs.push(d as unknown as LockedDeb);
  });
  return { file, inputs, suite: (lock['suite'] as string | undefined) ?? '', arch: arch ?? '', debs };
}
