import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import { loadMetadata } from '../metadata/load.js';
import type { Metadata } from '../metadata/model.js';
import { BadRequestError, FetchFailedError, RefNotFoundError } from './errors.js';

// Where a job's metadata comes from: a git repository the allow-list names and a ref in it.
// The server keeps one cache repository per source under <state>/repos, fetches into it when
// a job is submitted, and reads the metadata at the commit straight from git objects (the
// `--ref` machinery): nothing is ever checked out, so a hostile tree cannot place files.

const run = promisify(execFile);

/**
 * git only ever speaks these: `ext::` runs a command, `fd::` reads a descriptor, and
 * remote helpers run programs named by the URL. GIT_ALLOW_PROTOCOL is git's own fence,
 * kept even though repository strings are checked first.
 */
const GIT_ENV = { GIT_ALLOW_PROTOCOL: 'file:http:https', GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_ASKPASS: '/bin/false' };

/** A repository string from a request, made canonical (an https/http URL, or an absolute real path), or why it is refused. */
export function normaliseRepository(raw: string): Result<string, BadRequestError> {
  const bad = (why: string) => err(new BadRequestError(`repository "${raw.slice(0, 200)}" ${why}`, 'repository', 'give an https:// URL or an absolute path the server allows'));
  if (raw.length === 0 || raw.length > 1000) return bad('must be 1 to 1000 characters');
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f]/.test(raw)) return bad('holds whitespace or a control character');
  if (raw.startsWith('-')) return bad('starts with "-" (git would read it as an option)');
  if (raw.includes('::')) return bad('names a git transport helper ("::"), which the server never runs');
  if (/^https?:\/\//i.test(raw)) {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return bad('is not a valid URL');
    }
    if (u.username || u.password) return bad('holds credentials; the server keeps no secrets in job records');
    if (u.search || u.hash) return bad('has a query or fragment');
    return ok(u.href.replace(/\/+$/, ''));
  }
  let local: string;
  if (/^file:/i.test(raw)) {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return bad('is not a valid file: URL');
    }
    if (u.host && u.host !== 'localhost') return bad('names a host in a file: URL');
    local = decodeURIComponent(u.pathname);
  } else if (raw.startsWith('/')) {
    local = raw;
  } else {
    return bad('is neither an http(s):// URL nor an absolute path');
  }
  if (local.split('/').includes('..')) return bad('holds ".."');
  let real: string;
  try {
    real = realpathSync(path.resolve(local));
  } catch {
    real = path.resolve(local);
  }
  return ok(real.replace(/\/+$/, '') || '/');
}

/**
 * Whether the allow-list admits a (normalised) repository. An entry is a repository
 * (matched exactly) or a prefix ending in "/" or "/*" (anything under it).
 */
export function repositoryAllowed(o: { repository: string; allow: string[] }): boolean {
  return o.allow.some((entry) => {
    const e = entry.endsWith('/*') ? entry.slice(0, -1) : entry;
    if (e.endsWith('/')) return o.repository.startsWith(e) && !o.repository.slice(e.length).split('/').includes('..');
    return o.repository === e;
  });
}

/** A ref as a job may name it: a branch, a tag or a commit id, nothing git would read as an option or a range. */
export function checkRef(ref: string): Result<string, BadRequestError> {
  const bad = (why: string) => err(new BadRequestError(`ref "${ref.slice(0, 200)}" ${why}`, 'ref', 'name a branch, a tag or a commit id'));
  if (ref.length === 0 || ref.length > 255) return bad('must be 1 to 255 characters');
  if (ref.startsWith('-')) return bad('starts with "-"');
  // git check-ref-format's rules, the ones that matter for a name given to rev-parse
  if (!/^[A-Za-z0-9._/+-]+$/.test(ref)) return bad('holds characters a branch or tag name cannot have');
  if (ref.includes('..') || ref.includes('//') || ref.startsWith('/') || ref.endsWith('/') || ref.endsWith('.lock') || ref.endsWith('.') || ref.includes('/.') || ref.startsWith('.'))
    return bad('is not a valid branch or tag name');
  return ok(ref);
}

export interface ResolvedSource {
  /** the cache repository the metadata is read from */
  dir: string;
  commit: string;
}

type Fetched = Result<string, string>;

/**
 * The cache repositories of one server. Fetches into one repository are coalesced: a
 * request that arrives while a fetch runs shares the next one (which starts after it
 * arrived, so it sees what was pushed before it), so fifty submissions at once cost two
 * fetches, not fifty in a row.
 */
export class SourceCache {
  private readonly fetches = new Map<string, { current?: Promise<Fetched>; next?: Promise<Fetched> }>();

  constructor(private readonly o: { stateDir: string }) {}

  dirOf(repository: string): string {
    return path.join(this.o.stateDir, 'repos', createHash('sha256').update(repository).digest('hex').slice(0, 24));
  }

  /** Fetches the repository's branches and tags and resolves the ref to a commit. */
  async resolve(o: { repository: string; ref: string }): Promise<Result<ResolvedSource, FetchFailedError | RefNotFoundError>> {
    const dir = this.dirOf(o.repository);
    const url = o.repository.startsWith('/') ? `file://${o.repository}` : o.repository;
    const fetched = await this.fetchShared(dir, async () => {
      if (!existsSync(path.join(dir, '.git'))) {
        mkdirSync(dir, { recursive: true });
        const init = await git(dir, ['init', '-q']);
        if (!init.ok) return init;
      }
      return git(dir, ['fetch', '-q', '--prune', '--no-recurse-submodules', '--', url, '+refs/heads/*:refs/remotes/source/*', '+refs/tags/*:refs/tags/*']);
    });
    if (!fetched.ok) {
      // A commit id may already be here from an earlier fetch (a branch force-pushed since).
      const known = /^[0-9a-f]{40}$/.test(o.ref) ? await this.revParse(dir, o.ref) : undefined;
      if (known) return ok({ dir, commit: known });
      return err(new FetchFailedError(`cannot fetch ${o.repository}: ${fetched.error.split('\n').filter(Boolean).slice(-2).join('; ')}`, 'check that the repository exists and the server can reach it'));
    }
    const commit = await this.revParse(dir, o.ref);
    if (!commit) return err(new RefNotFoundError(`no branch, tag or commit "${o.ref}" in ${o.repository}`, 'push it first, or name an existing branch, tag or commit'));
    return ok({ dir, commit });
  }

  /** The commit of a ref fetched before (a restart resumes jobs without fetching again). */
  async known(o: { repository: string; commit: string }): Promise<ResolvedSource | undefined> {
    const dir = this.dirOf(o.repository);
    const c = await this.revParse(dir, o.commit);
    return c === o.commit ? { dir, commit: c } : undefined;
  }

  private async revParse(dir: string, ref: string): Promise<string | undefined> {
    const candidates = /^[0-9a-f]{40}$/.test(ref) ? [ref] : [`refs/remotes/source/${ref}`, `refs/tags/${ref}`, ...(/^[0-9a-f]{4,39}$/.test(ref) ? [ref] : [])];
    for (const c of candidates) {
      const r = await git(dir, ['rev-parse', '-q', '--verify', '--end-of-options', `${c}^{commit}`]);
      if (r.ok) return r.value.trim();
    }
    return undefined;
  }

  private fetchShared(dir: string, run: () => Promise<Fetched>): Promise<Fetched> {
    let f = this.fetches.get(dir);
    if (!f) this.fetches.set(dir, (f = {}));
    const slot = f;
    if (slot.next) return slot.next;
    const start = (): Promise<Fetched> => {
      const p = run().finally(() => {
        if (slot.current === p) slot.current = undefined;
      });
      slot.current = p;
      return p;
    };
    if (!slot.current) return start();
    slot.next = slot.current.then(() => {
      slot.next = undefined;
      return start();
    });
    return slot.next;
  }
}

async function git(dir: string, args: string[]): Promise<Result<string, string>> {
  try {
    const r = await run('git', ['-C', dir, '-c', 'protocol.ext.allow=never', '-c', 'core.hooksPath=/dev/null', ...args], { env: { ...process.env, ...GIT_ENV }, maxBuffer: 16 << 20, timeout: 10 * 60_000 });
    return ok(r.stdout);
  } catch (e: unknown) {
    return err(String((e as { stderr?: string }).stderr || (e as Error).message));
  }
}

/** The metadata of a job at its commit, read from the cache repository. */
export async function metadataAt(o: { source: ResolvedSource; env: NodeJS.ProcessEnv }): Promise<Result<Metadata, WeldError>> {
  const { GitRefSource } = await import('../metadata/git-source.js');
  const opened = await GitRefSource.open({ root: o.source.dir, ref: o.source.commit });
  if (!opened.ok) return opened;
  return loadMetadata({ source: opened.value, metaDir: 'metadata', env: o.env, cacheDir: path.join(o.source.dir, '.weld', 'cache', 'metadata') });
}

/** The repository of the project the server was started in: the allow-list when none is configured. */
export async function projectRepository(cwd: string): Promise<string | undefined> {
  const r = await git(cwd, ['rev-parse', '--show-toplevel']);
  if (!r.ok) return undefined;
  const n = normaliseRepository(r.value.trim());
  return n.ok ? n.value : undefined;
}
