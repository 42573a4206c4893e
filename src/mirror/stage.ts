import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';
import { err, ok, type Result } from '../core/result.js';
import { MirrorBusyError, MirrorRepoError, RefNameError } from './errors.js';
import { mirrorPath } from './location.js';
import { checkRefName, listRefs, readRefFile, type RefUpdate } from './refs.js';
import type { MirrorRepo } from './repo.js';

// A package is mirrored in a staging repository beside its mirror, never in the mirror
// itself: fetches, imports and patches write their objects there, and only when all of
// it worked are the new objects moved in and the refs written, all at the end. So a
// refused mirror leaves the mirror exactly as it was, and a first refused mirror
// leaves nothing. Removing a half-made mirror instead would not be safe: another weld
// process may already be mirroring into it.

export interface Stage {
  /** where this run works */
  repo: MirrorRepo;
  /** the mirror it is published into */
  target: string;
  /** the mirror did not exist: publishing renames the stage into place */
  fresh: boolean;
  /** the mirror's refs when the stage was made: what publishing expects to replace */
  before: Map<string, string>;
  /** the mirror's config when the stage was made (a fetch may add the remote's URL) */
  config: string | undefined;
}

const STAGE_PREFIX = '.weld-stage-';
// A pid means something only on the host (and pid namespace) that made it: a stage in a
// mirrors directory shared with other machines or containers names its maker's host, and
// only stages of this host are ever judged dead.
const HOST_TAG = hostname().replace(/[^A-Za-z0-9]/g, '_');

/** Makes the stage: a copy of the mirror's refs and config, its object files hard-linked (objects never change). */
export async function openStage(opts: { mirrorsDir: string; pkg: string }): Promise<Result<Stage, MirrorRepoError>> {
  const target = mirrorPath(opts.mirrorsDir, opts.pkg);
  const dir = path.join(opts.mirrorsDir, `${STAGE_PREFIX}${opts.pkg}-${HOST_TAG}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    fs.mkdirSync(opts.mirrorsDir, { recursive: true });
    removeDeadStages(opts.mirrorsDir);
    const fresh = !fs.existsSync(path.join(target, 'HEAD'));
    if (fresh && fs.existsSync(target) && fs.readdirSync(target).length > 0) {
      return err(new MirrorRepoError(`${target} exists but is not a git repository`, 'move it away; weld mirror recreates it'));
    }
    if (fresh) {
      await git.init({ fs, gitdir: dir, bare: true, defaultBranch: 'distro' });
      return ok({ repo: { gitdir: dir, cache: {} }, target, fresh, before: new Map(), config: undefined });
    }
    fs.mkdirSync(dir);
    for (const f of ['HEAD', 'config', 'packed-refs', 'description']) {
      if (fs.existsSync(path.join(target, f))) fs.copyFileSync(path.join(target, f), path.join(dir, f));
    }
    // a ref being written by git right now (its .lock) is not copied; publishing checks it again
    fs.cpSync(path.join(target, 'refs'), path.join(dir, 'refs'), { recursive: true, filter: (src) => !src.endsWith('.lock') });
    linkObjects(path.join(target, 'objects'), path.join(dir, 'objects'));
    const config = fs.existsSync(path.join(target, 'config')) ? fs.readFileSync(path.join(target, 'config'), 'utf8') : undefined;
    return ok({ repo: { gitdir: dir, cache: {} }, target, fresh, before: listRefs(dir), config });
  } catch (e: unknown) {
    fs.rmSync(dir, { recursive: true, force: true });
    return err(new MirrorRepoError(`cannot prepare a staging copy of ${target}: ${(e as Error).message}`, 'check free space and permissions of the mirrors directory'));
  }
}

export function discardStage(stage: Stage): void {
  fs.rmSync(stage.repo.gitdir, { recursive: true, force: true });
}

/**
 * Publishes the stage: its new objects into the mirror, then every ref that changed
 * (weld's `updates` and what a fetch wrote) at once, each under git's own `<ref>.lock`
 * so a concurrent git or weld is noticed rather than overwritten.
 */
export async function publishStage(opts: { stage: Stage; updates: RefUpdate[] }): Promise<Result<void, MirrorRepoError | MirrorBusyError | RefNameError>> {
  const { stage } = opts;
  for (const u of opts.updates) {
    const bad = checkRefName(u.ref);
    if (bad) return err(new RefNameError(u.ref, bad));
  }
  const changes = new Map<string, string>();
  for (const [ref, oid] of listRefs(stage.repo.gitdir)) if (stage.before.get(ref) !== oid) changes.set(ref, oid);
  for (const u of opts.updates) changes.set(u.ref, u.oid);
  for (const u of opts.updates) {
    if (!(await hasObject(stage.repo, u.oid))) throw new Error(`bug: ${u.ref} would point at ${u.oid}, which the stage does not hold`);
  }
  if (stage.fresh) {
    for (const [ref, oid] of changes) writeLoose(stage.repo.gitdir, ref, oid);
    try {
      fs.renameSync(stage.repo.gitdir, stage.target);
      return ok(undefined);
    } catch (e: unknown) {
      // another weld made the mirror meanwhile: publish into it like into any mirror
      if (!['ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    }
  }
  moveObjects(path.join(stage.repo.gitdir, 'objects'), path.join(stage.target, 'objects'));
  const written = await writeRefs({ gitdir: stage.target, changes, before: stage.before });
  if (!written.ok) return written;
  const config = readOptional(path.join(stage.repo.gitdir, 'config'));
  if (!stage.fresh && config !== undefined && config !== stage.config) replaceFile(path.join(stage.target, 'config'), config);
  return ok(undefined);
}

async function hasObject(repo: MirrorRepo, oid: string): Promise<boolean> {
  try {
    await git.readObject({ fs, gitdir: repo.gitdir, oid, format: 'deflated', cache: repo.cache });
    return true;
  } catch {
    return false;
  }
}

/** Takes every ref's lock, checks nobody moved it since the stage was made, then renames the locks into place. */
async function writeRefs(opts: { gitdir: string; changes: Map<string, string>; before: Map<string, string> }): Promise<Result<void, MirrorBusyError>> {
  const held: string[] = [];
  try {
    for (const [ref, oid] of opts.changes) {
      const lock = path.join(opts.gitdir, `${ref}.lock`);
      fs.mkdirSync(path.dirname(lock), { recursive: true });
      try {
        fs.writeFileSync(lock, `${oid}\n`, { flag: 'wx' });
      } catch (e: unknown) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return err(new MirrorBusyError(opts.gitdir, `${ref} is locked (${lock} exists)`));
        throw e;
      }
      held.push(lock);
      const now = readRefFile(opts.gitdir, ref);
      if (now !== opts.before.get(ref) && now !== oid) {
        return err(new MirrorBusyError(opts.gitdir, `${ref} moved while this mirror ran (now ${now?.slice(0, 12) ?? 'deleted'})`));
      }
    }
    for (const lock of held.splice(0)) fs.renameSync(lock, lock.slice(0, -'.lock'.length));
    return ok(undefined);
  } finally {
    for (const lock of held) fs.rmSync(lock, { force: true });
  }
}

function writeLoose(gitdir: string, ref: string, oid: string): void {
  const file = path.join(gitdir, ref);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${oid}\n`);
}

function linkObjects(from: string, to: string): void {
  fs.mkdirSync(path.join(to, 'pack'), { recursive: true });
  fs.mkdirSync(path.join(to, 'info'), { recursive: true });
  for (const name of fs.readdirSync(from)) {
    const src = path.join(from, name);
    if (name === 'info') {
      const alternates = path.join(src, 'alternates');
      if (fs.existsSync(alternates)) fs.copyFileSync(alternates, path.join(to, 'info', 'alternates'));
      continue;
    }
    if (name !== 'pack' && !/^[0-9a-f]{2}$/.test(name)) continue;
    fs.mkdirSync(path.join(to, name), { recursive: true });
    for (const f of fs.readdirSync(src)) if (!f.startsWith('tmp')) fs.linkSync(path.join(src, f), path.join(to, name, f));
  }
}

// A pack is usable once its .idx is there, so the .idx goes last.
const PACK_ORDER = (f: string) => (f.endsWith('.idx') ? 2 : f.endsWith('.pack') ? 0 : 1);

/** Moves the stage's objects the mirror lacks into it; objects are named by content, so one already there is the same. */
function moveObjects(from: string, to: string): void {
  for (const name of fs.readdirSync(from)) {
    if (name !== 'pack' && !/^[0-9a-f]{2}$/.test(name)) continue;
    const files = fs.readdirSync(path.join(from, name)).filter((f) => !f.startsWith('tmp'));
    if (name === 'pack') files.sort((a, b) => PACK_ORDER(a) - PACK_ORDER(b));
    for (const f of files) {
      const dest = path.join(to, name, f);
      if (fs.existsSync(dest)) continue;
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.renameSync(path.join(from, name, f), dest);
    }
  }
}

/** Stages of weld processes that died (kill -9, power loss) on this host. */
function removeDeadStages(mirrorsDir: string): void {
  for (const name of fs.readdirSync(mirrorsDir)) {
    const pid = new RegExp(`^${STAGE_PREFIX.replace('.', '\\.')}.*-${HOST_TAG}-(\\d+)-[0-9a-f]{8}$`).exec(name)?.[1];
    if (pid && !alive(Number(pid))) fs.rmSync(path.join(mirrorsDir, name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: unknown) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOptional(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function replaceFile(file: string, text: string): void {
  const tmp = `${file}.weld-${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}
