import { quote } from '../core/diagnostics.js';
import type { DistroDraft } from './distro-file.js';
import type { EnvDraft } from './env-file.js';
import { checkEnvRef, didYouMean, type EnvCtx } from './env-ref.js';
import type { Target } from './model.js';
import type { Problem } from './schema.js';
import { testEnvIn } from './test-env.js';

// The cross-file checks of targets: each target's envs exist and agree on the arch; what
// a package or compose narrows its targets to exists; a package's own env, its test env
// and what it requires are there in every target it builds for.

export interface TargetsCheck {
  targets: Target[];
  /** package → the targets it builds for, in the distro's order */
  packageTargets: Map<string, string[]>;
  /** compose → the targets it composes for */
  composeTargets: Map<string, string[]>;
}

/** The distro's targets as far as the drafts tell: [[target]] tables, else the one [distro] describes. */
export function resolveTargets(distro: DistroDraft, envs: ReadonlyMap<string, EnvDraft>): Target[] {
  const list = [...envs.values()];
  const make = (o: { name: string; env: string; arch: Target['arch']; runtimeEnv?: string }): Target => {
    const runtimeEnv = o.runtimeEnv ?? testEnvIn({ target: { arch: o.arch }, envs: list, builder: o.env });
    return { name: o.name, arch: o.arch, env: o.env, ...(runtimeEnv ? { runtimeEnv } : {}), ...(o.runtimeEnv ? { runtimeEnvSet: true } : {}) };
  };
  if (distro.targetDrafts.length === 0) {
    if (!distro.defaultEnv || !distro.arch) return [];
    return [make({ name: distro.defaultEnv, env: distro.defaultEnv, arch: distro.arch, ...(distro.runtimeEnv ? { runtimeEnv: distro.runtimeEnv } : {}) })];
  }
  const out: Target[] = [];
  for (const d of distro.targetDrafts) {
    const arch = d.arch ?? envs.get(d.env ?? '')?.arch;
    if (!d.name || !d.env || !arch || out.some((t) => t.name === d.name)) continue;
    out.push(make({ name: d.name, env: d.env, arch, ...(d.runtimeEnv ? { runtimeEnv: d.runtimeEnv } : {}) }));
  }
  return out;
}

export function checkTargets(ctx: EnvCtx): TargetsCheck {
  const { drafts, state, envs } = ctx;
  const { distro } = drafts;
  const targets = resolveTargets(distro, envs);
  const names = targets.map((t) => t.name);
  const distroProblems = state(distro.file).problems;
  for (const d of distro.targetDrafts) {
    const at = (key: string): Array<string | number> => ['target', d.index, key];
    if (d.env !== undefined) checkEnvRef(ctx, { file: distro.file, path: at('env'), env: d.env, want: 'builder', what: `target ${d.name ?? d.index + 1}'s env` });
    if (d.runtimeEnv !== undefined) checkEnvRef(ctx, { file: distro.file, path: at('runtime_env'), env: d.runtimeEnv, want: 'runtime', what: `target ${d.name ?? d.index + 1}'s runtime env` });
    const arch = d.arch ?? envs.get(d.env ?? '')?.arch;
    for (const [key, env] of [['env', d.env], ['runtime_env', d.runtimeEnv]] as const) {
      const e = env === undefined ? undefined : envs.get(env);
      if (e?.arch && arch && e.arch !== arch) distroProblems.push({ path: at(key), anchor: 'value', message: `env ${quote(env!)} is for ${e.arch}, but this target builds ${arch}; name an env of arch ${arch}` });
    }
  }
  const archOf = (env: string | undefined) => (env === undefined ? undefined : envs.get(env)?.arch);

  const packageTargets = new Map<string, string[]>();
  for (const p of drafts.packages) packageTargets.set(p.name, narrowed({ written: p.targets, names, problems: state(p.file).problems, path: ['build', 'targets'], what: 'package' }));
  for (const p of drafts.packages) {
    const problems = state(p.file).problems;
    const mine = packageTargets.get(p.name)!;
    const own = targets.filter((t) => mine.includes(t.name));
    for (const [path, env] of [[['build', 'env'], p.env], [['test', 'env'], p.test.env]] as const) {
      const arch = archOf(env);
      const other = own.filter((t) => arch && t.arch !== arch).map((t) => t.name);
      if (other.length) problems.push({ path, anchor: 'value', message: `env ${quote(env!)} is for ${arch}, but this package also builds for ${list(other)} (${other.length === 1 ? 'another arch' : 'other arches'}); narrow it with [build] targets = [${own.filter((t) => !other.includes(t.name)).map((t) => `"${t.name}"`).join(', ')}], or remove env to use each target's` });
    }
    const needs: Array<[string, string, readonly string[]]> = [['build', 'requires', p.requires], ['runtime', 'requires', p.runtimeRequires], ['test', 'requires', p.test.requires]];
    for (const [table, key, reqs] of needs) {
      reqs.forEach((r, i) => {
        const theirs = packageTargets.get(r);
        if (!theirs) return; // unknown names are reported by the cross-check
        const lacking = mine.filter((t) => !theirs.includes(t));
        if (lacking.length) problems.push({ path: [table, key, i], anchor: 'value', message: `${quote(r)} does not build for ${list(lacking)}, which this package builds for; add ${lacking.length === 1 ? 'it' : 'them'} to [build] targets in ${r}'s file, or narrow this package's` });
      });
    }
  }

  const composeTargets = new Map<string, string[]>();
  for (const c of drafts.composes) {
    const problems = state(c.file).problems;
    const mine = narrowed({ written: c.targets, names, problems, path: ['compose', 'targets'], what: 'compose' });
    composeTargets.set(c.name, mine);
    if (c.kind !== 'image') continue;
    const own = targets.filter((t) => mine.includes(t.name));
    const arch = archOf(c.env);
    const other = own.filter((t) => arch && t.arch !== arch).map((t) => t.name);
    if (other.length) problems.push({ path: ['compose', 'env'], anchor: 'value', message: `env ${quote(c.env!)} is for ${arch}, but this compose is also made for ${list(other)}; narrow it with targets = [...], or remove env to start from each target's runtime env` });
    const envless = c.env === undefined ? own.filter((t) => !t.runtimeEnv).map((t) => t.name) : [];
    if (envless.length) {
      problems.push({ path: ['compose', 'kind'], anchor: 'value', message: `an image compose needs env = "<runtime env>" to start from; e.g. env = "bookworm-s390x-runtime"${distro.targetDrafts.length ? ` (or runtime_env in the [[target]] of ${list(envless)})` : ''}` });
    }
    c.packages.forEach((pkg, i) => {
      const theirs = packageTargets.get(pkg);
      const lacking = theirs ? mine.filter((t) => !theirs.includes(t)) : [];
      if (lacking.length) problems.push({ path: ['compose', 'packages', i], anchor: 'value', message: `${quote(pkg)} does not build for ${list(lacking)}, which this image is made for; narrow the compose with targets = [...]` });
    });
  }
  return { targets, packageTargets, composeTargets };
}

/** `targets = [...]` of a package or compose: the known ones in the distro's order, else all. */
function narrowed(o: { written: readonly string[] | undefined; names: string[]; problems: Problem[]; path: string[]; what: string }): string[] {
  if (o.written === undefined) return o.names;
  if (o.written.length === 0) o.problems.push({ path: o.path, anchor: 'value', message: `targets is empty, so this ${o.what} would be made for nothing; list targets (${o.names.join(', ')}) or remove the key for all of them` });
  o.written.forEach((n, i) => {
    if (!o.names.includes(n)) o.problems.push({ path: [...o.path, i], anchor: 'value', message: `unknown target ${quote(n)}; ${didYouMean(n, o.names)}targets: ${o.names.join(', ') || 'none'} ([[target]] in weld.toml)` });
  });
  return o.names.filter((n) => o.written!.includes(n));
}

function list(names: readonly string[]): string {
  return names.length === 1 ? `target ${names[0]}` : `targets ${names.join(', ')}`;
}
