import path from 'node:path';
import { err, ok, type Result } from '../core/result.js';
import type { WeldError } from '../core/errors.js';
import type { Env, LockedDeb } from '../metadata/model.js';
import { debianMirrorFor } from '../mirror/debian/apt-sources.js';
import { aptContext, parsePackages, parsePrintUris, runApt } from './apt.js';
import { AptResolveError, DebianMirrorUnknownError } from './errors.js';
import type { EnvEvent, EnvListener } from './events.js';
import { emitterFor } from '../core/events.js';
import { envInputsDigest } from './inputs.js';
import { formatEnvLock, sortDebs, writeEnvLock } from './lock-file.js';

export interface LockEnvOptions {
  env: Env;
  /** the project root; apt's private state lives in <root>/.weld/apt/ */
  root: string;
  /** where the lock goes (metadata/envs/<env>.lock.toml) */
  file: string;
  processEnv?: NodeJS.ProcessEnv;
  onEvent?: EnvListener;
}

export interface LockEnvResult {
  file: string;
  changed: boolean;
  debs: LockedDeb[];
}

/**
 * Resolves the env's packages plus every Essential package of the suite (dpkg would
 * never run without them) for the env's arch, and writes the lock.
 */
export async function lockEnv(opts: LockEnvOptions): Promise<Result<LockEnvResult, WeldError>> {
  const { env } = opts;
  const event = emitterFor<EnvEvent>({ subject: { kind: 'env', name: env.name }, listener: opts.onEvent });
  const emit = (detail: string) => event('phase', { detail });
  const mirror = debianMirrorFor({ suite: env.suite, env: opts.processEnv ?? process.env });
  if (!mirror) return err(new DebianMirrorUnknownError(env.suite));
  const ctx = aptContext({ dir: path.join(opts.root, '.weld', 'apt', `${env.suite}-${env.arch}`), env, mirror });
  emit(`apt-get update (${env.suite}, ${env.arch})`);
  const updated = await runApt({ tool: 'apt-get', ctx, args: ['-q', 'update'], envName: env.name, step: 'update' });
  if (!updated.ok) return updated;
  const avail = await runApt({ tool: 'apt-cache', ctx, args: ['dumpavail'], envName: env.name, step: 'dumpavail' });
  if (!avail.ok) return avail;
  const stanzas = parsePackages(avail.value);
  const byFile = new Map(stanzas.map((s) => [s.filename, s]));
  const essential = [...new Set(stanzas.filter((s) => s.essential).map((s) => s.name))];
  const wanted = [...new Set([...env.packages, ...essential])].sort();
  emit(`resolving ${env.packages.length} packages and ${essential.length} essential ones`);
  const printed = await runApt({ tool: 'apt-get', ctx, args: ['install', '--print-uris', '-y', '-q', '--no-install-recommends', ...wanted], envName: env.name, step: 'install --print-uris' });
  if (!printed.ok) return printed;
  const debs: LockedDeb[] = [];
  const base = `${mirror}/`;
  for (const u of parsePrintUris(printed.value)) {
    const rel = u.url.startsWith(base) ? decodeURIComponent(u.url.slice(base.length)) : undefined;
    const s = rel ? byFile.get(rel) : undefined;
    if (!rel || !s) return err(new AptResolveError(env.name, 'install --print-uris', `apt wants ${u.url}, which is not in ${env.suite}'s package index at ${mirror}`));
    if (s.sha256 !== u.sha256 || s.size !== u.size) return err(new AptResolveError(env.name, 'install --print-uris', `${rel}: apt printed sha256 ${u.sha256} size ${u.size}, the index says ${s.sha256} size ${s.size}`));
    debs.push({ name: s.name, version: s.version, arch: s.arch, path: rel, sha256: s.sha256, size: s.size });
  }
  if (!debs.length) return err(new AptResolveError(env.name, 'install --print-uris', `apt resolved no packages:\n${printed.value}`));
  const sorted = sortDebs(debs);
  const text = formatEnvLock({ env: env.name, lock: { inputs: envInputsDigest(env), suite: env.suite, arch: env.arch, debs: sorted } });
  const written = writeEnvLock({ file: opts.file, text });
  if (!written.ok) return written;
  return ok({ file: opts.file, changed: written.value.changed, debs: sorted });
}
