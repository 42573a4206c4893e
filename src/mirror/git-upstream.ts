import fs from 'node:fs';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { err, ok, type Result } from '../core/result.js';
import type { WeldError } from '../core/errors.js';
import { closest } from '../util/suggest.js';
import { UpstreamRefError, UpstreamUnreachableError } from './errors.js';
import { mirrorEvent, type MirrorListener } from './events.js';
import { nativeGit, pickGitBackend, type GitBackend } from './git-backend.js';
import type { RefUpdate } from './refs.js';
import { peel, readRef, type MirrorRepo } from './repo.js';
import { upstreamTagRef } from '../metadata/names.js';

export interface GitUpstreamOptions {
  repo: MirrorRepo;
  pkg: string;
  version: string;
  /** http(s)/file URL or absolute local path */
  url: string;
  tag?: string;
  commit?: string;
  branch?: string;
  /** fetch even when the pinned commit is already here */
  refresh?: boolean;
  env?: NodeJS.ProcessEnv;
  onEvent?: MirrorListener;
}

export interface GitUpstreamResult {
  /** the pinned commit: tagged upstream/<version> */
  commit: string;
  /** the upstream branch holding it, if any; the mirror's `upstream` branch follows it */
  branch?: string;
  fetched: boolean;
  backend?: GitBackend;
  /** `upstream` and `upstream/<version>`, for the caller to write once the whole mirror worked */
  refs: RefUpdate[];
}

const REMOTE_PREFIX = 'refs/remotes/upstream/';

async function pinned(repo: MirrorRepo, opts: { tag?: string; commit?: string }): Promise<string | undefined> {
  if (opts.tag !== undefined) {
    const tagged = await readRef(repo, `refs/tags/${opts.tag}`);
    const c = tagged && (await peel(repo, tagged));
    if (!c || (opts.commit && c !== opts.commit)) return undefined;
    return c;
  }
  return opts.commit && (await peel(repo, opts.commit));
}

async function fetchUpstream(opts: GitUpstreamOptions, backend: GitBackend): Promise<Result<void, UpstreamUnreachableError>> {
  const { repo, url } = opts;
  if (backend === 'native') {
    // --force: upstream tags that moved are taken as they are now, like a fresh clone
    const r = await nativeGit(repo.gitdir, ['-c', 'gc.auto=0', 'fetch', '--quiet', '--force', '--tags', url, `+refs/heads/*:${REMOTE_PREFIX}*`]);
    if (r.ok) return ok(undefined);
    const line = r.stderr.split('\n').find((l) => /fatal|error/.test(l)) ?? r.stderr.trim();
    return err(new UpstreamUnreachableError(url, line.replace(/^(fatal|error): /, '')));
  }
  if (!/^https?:/.test(url)) {
    return err(new UpstreamUnreachableError(url, 'isomorphic-git fetches over http(s) only; install git for local-path upstreams'));
  }
  // isomorphic-git fetches through a configured remote; the URL lives only in the mirror's config
  await git.setConfig({ fs, gitdir: repo.gitdir, path: 'remote.upstream.url', value: url });
  await git.setConfig({ fs, gitdir: repo.gitdir, path: 'remote.upstream.fetch', value: `+refs/heads/*:${REMOTE_PREFIX}*` });
  try {
    await git.fetch({
      fs,
      http,
      gitdir: repo.gitdir,
      cache: repo.cache,
      url,
      remote: 'upstream',
      tags: true,
      singleBranch: false,
      onProgress: (p) => opts.onEvent?.(mirrorEvent(opts.pkg, 'progress', { phase: 'fetch', done: p.loaded, ...(p.total ? { total: p.total } : {}), unit: 'files' })),
    });
    return ok(undefined);
  } catch (e: unknown) {
    const x = e as { code?: string; message?: string; data?: { statusCode?: number; statusMessage?: string }; cause?: { code?: string } };
    const why = x.data?.statusCode ? `HTTP ${x.data.statusCode} ${x.data.statusMessage ?? ''}`.trim() : x.cause?.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(x.message ?? '') ? 'connection refused (is the server up?)' : (x.message ?? String(e));
    return err(new UpstreamUnreachableError(url, why));
  }
}

async function isAncestor(repo: MirrorRepo, backend: GitBackend, ancestor: string, tip: string): Promise<boolean> {
  if (ancestor === tip) return true;
  if (backend === 'native') return (await nativeGit(repo.gitdir, ['merge-base', '--is-ancestor', ancestor, tip])).ok;
  return git.isDescendent({ fs, gitdir: repo.gitdir, oid: tip, ancestor, depth: -1, cache: repo.cache });
}

/** The upstream branch that holds `commit`: the one named in metadata, else main, master, then by name. */
async function holdingBranch(repo: MirrorRepo, backend: GitBackend, commit: string, wanted?: string): Promise<Result<string | undefined, UpstreamRefError>> {
  const branches = (await git.listBranches({ fs, gitdir: repo.gitdir, remote: 'upstream' })).filter((b) => b !== 'HEAD');
  if (wanted !== undefined) {
    if (!branches.includes(wanted)) {
      const guess = closest(wanted, branches);
      return err(new UpstreamRefError(`upstream has no branch "${wanted}"${guess ? `; did you mean "${guess}"?` : ''}`, `branches: ${branches.slice(0, 10).join(', ')}`));
    }
    const tip = (await readRef(repo, `${REMOTE_PREFIX}${wanted}`))!;
    if (!(await isAncestor(repo, backend, commit, tip))) return err(new UpstreamRefError(`upstream branch "${wanted}" does not contain ${commit}`));
    return ok(wanted);
  }
  const order = (b: string) => (b === 'main' ? 0 : b === 'master' ? 1 : 2);
  for (const b of [...branches].sort((x, y) => order(x) - order(y) || (x < y ? -1 : 1))) {
    const tip = await readRef(repo, `${REMOTE_PREFIX}${b}`);
    if (tip && (await isAncestor(repo, backend, commit, tip))) return ok(b);
  }
  return ok(undefined);
}

/**
 * Brings a git upstream into the mirror: upstream branches under
 * refs/remotes/upstream/, upstream tags kept, `upstream` following the branch that
 * holds the pin, and `upstream/<version>` on the pinned commit. No network when the
 * pinned commit is already here (unless `refresh`).
 */
export async function mirrorGitUpstream(opts: GitUpstreamOptions): Promise<Result<GitUpstreamResult, WeldError>> {
  const { repo } = opts;
  let commit = await pinned(repo, opts);
  let fetched = false;
  let backend: GitBackend | undefined;
  if (!commit || opts.refresh) {
    backend = await pickGitBackend(opts.env);
    opts.onEvent?.(mirrorEvent(opts.pkg, 'phase', { phase: 'fetch', detail: `${opts.url} (${backend === 'native' ? 'git' : 'isomorphic-git'})` }));
    const f = await fetchUpstream(opts, backend);
    if (!f.ok) return f;
    fetched = true;
    commit = await pinned(repo, opts);
  }
  if (!commit) {
    if (opts.tag !== undefined) {
      const tags = await git.listTags({ fs, gitdir: repo.gitdir });
      const exists = tags.includes(opts.tag);
      const guess = closest(opts.tag, tags);
      return err(
        new UpstreamRefError(
          exists ? `tag ${opts.tag} at ${opts.url} is not commit ${opts.commit}` : `tag ${opts.tag} not found at ${opts.url}${guess ? `; did you mean "${guess}"?` : ''}`,
          exists ? 'the tag moved upstream: check which commit you mean to build and pin that' : `fix [upstream] tag in the package file (upstream has ${tags.length} tags)`,
        ),
      );
    }
    return err(new UpstreamRefError(`commit ${opts.commit} not found at ${opts.url}`, 'check [upstream] commit in the package file; it must be on a branch or tag of the upstream'));
  }
  const branch = await holdingBranch(repo, backend ?? (await pickGitBackend(opts.env)), commit, opts.branch);
  if (!branch.ok) return branch;
  const tip = branch.value ? await readRef(repo, `${REMOTE_PREFIX}${branch.value}`) : commit;
  const refs = [
    { ref: 'refs/heads/upstream', oid: tip ?? commit },
    { ref: upstreamTagRef(opts.version), oid: commit },
  ];
  return ok({ commit, ...(branch.value ? { branch: branch.value } : {}), fetched, ...(backend ? { backend } : {}), refs });
}
