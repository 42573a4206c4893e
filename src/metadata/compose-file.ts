import { quote } from '../core/diagnostics.js';
import { closest } from '../util/suggest.js';
import type { Compose, ComposeKind } from './model.js';
import { isValidProjectName, normalizeName } from './names.js';
import { checkShape, type FileSpec, type Problem } from './schema.js';
import type { TomlTable } from './toml.js';

export const COMPOSE_SPEC: FileSpec = {
  compose: {
    required: true,
    hint: 'add [compose] with kind = "wheelhouse" or kind = "image"',
    fields: {
      kind: { kind: 'string', required: true, example: 'kind = "wheelhouse"' },
      packages: { kind: 'string-array', example: 'packages = ["pyyaml", "jinja2"]' },
      env: { kind: 'string', example: 'env = "bookworm-s390x-runtime"' },
      cmd: { kind: 'string-array', example: 'cmd = ["python3"]' },
      targets: { kind: 'string-array', example: 'targets = ["s390x-py311", "ppc64el-py311"]' },
    },
  },
};

const KINDS: ComposeKind[] = ['wheelhouse', 'image'];

export type ComposeDraft = Partial<Omit<Compose, 'targets'>> & Pick<Compose, 'name' | 'file' | 'packages'> & {
  /** `[compose] targets` as written */
  targets?: string[];
};

export function checkComposeFile(opts: { file: string; name: string; doc: TomlTable; problems: Problem[] }): ComposeDraft {
  const { file, name, doc, problems } = opts;
  const c = checkShape(doc, COMPOSE_SPEC, problems)['compose']?.[0] ?? {};
  const kind = c['kind'] as string | undefined;
  if (kind !== undefined && !KINDS.includes(kind as ComposeKind)) {
    const guess = closest(kind, KINDS);
    problems.push({ path: ['compose', 'kind'], anchor: 'value', message: `unknown compose kind ${quote(kind)}; ${guess ? `did you mean ${quote(guess)}? ` : ''}valid kinds: ${KINDS.join(', ')}` });
  }
  // An image compose without env starts from each target's runtime env: the cross-check sees whether there is one.
  if (kind === 'wheelhouse') {
    for (const key of ['env', 'cmd']) {
      if (key in c) problems.push({ path: ['compose', key], anchor: 'key', message: `${quote(key)} only applies to an image compose; a wheelhouse has no runtime env` });
    }
  }
  const packages: string[] = [];
  ((c['packages'] as string[] | undefined) ?? []).forEach((p, i) => {
    if (!isValidProjectName(p)) problems.push({ path: ['compose', 'packages', i], anchor: 'value', message: `${quote(p)} is not a valid package name` });
    else packages.push(normalizeName(p));
  });
  return {
    name,
    file,
    packages,
    ...(KINDS.includes(kind as ComposeKind) ? { kind: kind as ComposeKind } : {}),
    ...(typeof c['env'] === 'string' ? { env: c['env'] } : {}),
    ...(Array.isArray(c['cmd']) ? { cmd: c['cmd'] as string[] } : {}),
    ...(Array.isArray(c['targets']) ? { targets: c['targets'] as string[] } : {}),
  };
}
