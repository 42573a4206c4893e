import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { err, ok, type Result } from '../core/result.js';
import type { Env } from '../metadata/model.js';
import { AptResolveError } from './errors.js';

// apt resolves for the target arch with everything private: its own sources, lists,
// cache, preferences and config parts under `dir`, and an empty dpkg status, so the
// host's apt state is neither read nor changed and the host's pins cannot leak in.

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export interface AptContext {
  dir: string;
  options: string[];
}

export function aptContext(opts: { dir: string; env: Pick<Env, 'arch' | 'suite' | 'components'>; mirror: string; keyring?: string }): AptContext {
  const { dir, env } = opts;
  for (const d of ['lists/partial', 'cache/archives/partial', 'etc/apt.conf.d', 'etc/preferences.d', 'etc/sources.list.d']) mkdirSync(path.join(dir, d), { recursive: true });
  const keyring = opts.keyring ?? KEYRING;
  const signed = existsSync(keyring) ? `signed-by=${keyring}` : '';
  writeFileSync(path.join(dir, 'etc/sources.list'), `deb [arch=${env.arch} ${signed}] ${opts.mirror} ${env.suite} ${env.components.join(' ')}\n`);
  const o = (k: string, v: string) => ['-o', `${k}=${v}`];
  const options = [
    ...o('APT::Architecture', env.arch),
    ...o('APT::Architectures', env.arch),
    ...o('Dir::State', path.join(dir, 'state')),
    ...o('Dir::State::Lists', path.join(dir, 'lists')),
    ...o('Dir::State::status', '/dev/null'),
    ...o('Dir::Cache', path.join(dir, 'cache')),
    ...o('Dir::Etc::SourceList', path.join(dir, 'etc/sources.list')),
    ...o('Dir::Etc::SourceParts', path.join(dir, 'etc/sources.list.d')),
    ...o('Dir::Etc::Parts', path.join(dir, 'etc/apt.conf.d')),
    ...o('Dir::Etc::Preferences', path.join(dir, 'etc/preferences')),
    ...o('Dir::Etc::PreferencesParts', path.join(dir, 'etc/preferences.d')),
    ...o('Acquire::ForceHash', 'SHA256'),
    ...o('Acquire::Languages', 'none'),
    ...o('APT::Install-Recommends', 'false'),
    ...o('APT::Get::List-Cleanup', 'true'),
  ];
  mkdirSync(path.join(dir, 'state'), { recursive: true });
  return { dir, options };
}

export function runApt(opts: { tool: 'apt-get' | 'apt-cache'; ctx: AptContext; args: string[]; envName: string; step: string }): Promise<Result<string, AptResolveError>> {
  return new Promise((resolve) => {
    const child = spawn(opts.tool, [...opts.ctx.options, ...opts.args], {
      env: { ...process.env, LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', (e) => resolve(err(new AptResolveError(opts.envName, opts.step, `${opts.tool}: ${e.message} (apt is needed to resolve envs)`))));
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      // apt-get update exits 0 even when a source failed; its "E:"/"W:" lines say so
      if (code !== 0 || /^(E:|Err:)/m.test(stderr + stdout)) resolve(err(new AptResolveError(opts.envName, opts.step, stderr || stdout)));
      else resolve(ok(stdout));
    });
  });
}

/** One line of `apt-get install --print-uris`: 'URL' file size SHA256:hex */
export interface PrintedUri {
  url: string;
  size: number;
  sha256: string;
}

export function parsePrintUris(text: string): PrintedUri[] {
  const out: PrintedUri[] = [];
  for (const line of text.split('\n')) {
    const m = /^'([^']+)' \S+ (\d+) SHA256:([0-9a-f]{64})$/.exec(line.trim());
    if (m) out.push({ url: m[1]!, size: Number(m[2]), sha256: m[3]! });
  }
  return out;
}

export interface PackageStanza {
  name: string;
  version: string;
  arch: string;
  filename: string;
  sha256: string;
  size: number;
  essential: boolean;
}

/** The stanzas of `apt-cache dumpavail` (Packages format), only the fields a lock needs. */
export function parsePackages(text: string): PackageStanza[] {
  const out: PackageStanza[] = [];
  for (const stanza of text.split(/\n\n+/)) {
    const field = (k: string) => new RegExp(`^${k}: *(.*)$`, 'm').exec(stanza)?.[1]?.trim();
    const name = field('Package');
    const filename = field('Filename');
    if (!name || !filename) continue;
    out.push({
      name,
      version: field('Version') ?? '',
      arch: field('Architecture') ?? '',
      filename,
      sha256: field('SHA256') ?? '',
      size: Number(field('Size') ?? 0),
      essential: field('Essential') === 'yes',
    });
  }
  return out;
}
