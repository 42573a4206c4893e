import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { treesTar } from '../../archive/tar-tree.js';
import { err, ok, type Result } from '../../core/result.js';
import { loadEnvImage, type ComposedImage } from '../../envs/compose.js';
import { archInfo } from '../../podman/arch.js';
import type { Podman } from '../../podman/podman.js';
import type { Store } from '../../store/store.js';
import type { PullSource } from './registry-source.js';
import { contractEnv, RunFailedError, type RunOutcome, type RunSpec } from '../runner.js';
import { DEPS, exitReason, OUT, PATH, RECIPE, recipeCommand, SRC } from '../podman.js';

// One build on a remote podman engine, through podman's remote API (`podman --url`).
// Bind mounts do not reach another machine, so: create the container, copy the inputs
// in as one tar stream, start it attached (the log streams back), read its exit status,
// copy /weld/out out, remove it. The container sees exactly the paths, environment and
// command the local podman runner gives it, so one key builds the same bytes on both.

/** What one engine keeps between runs: images already there, containers a lost run left behind. */
export interface EngineState {
  /** env image tag → the load in flight or done (undefined: loaded) */
  loaded: Map<string, Promise<string | undefined>>;
  /** containers to remove once the engine answers again */
  orphans: Set<string>;
}

export interface RemoteRunOptions {
  podman: Podman;
  image: ComposedImage;
  store: Store;
  spec: RunSpec;
  engine: EngineState;
  /** the env image on the store remote: the engine pulls it by digest instead of being sent it through its API */
  pull?: PullSource;
  /** how often the engine is asked whether it is there while a build streams, and how many silences make it lost */
  heartbeat?: Heartbeat;
  /** the most bytes of outputs copied back (a tar stream from another machine is not trusted to end) */
  maxOutputBytes?: number;
}

/** Far above any wheel or prefix: what stops an engine streaming forever, not a quota. */
export const MAX_OUTPUT_BYTES = 32 * 2 ** 30;

export interface Heartbeat {
  everyMs: number;
  /** how long one check may take: a podman client's start on a busy host takes a good part of a second */
  timeoutMs: number;
  misses: number;
}

/**
 * An engine that goes away without closing its connection (a host frozen, a network cut
 * without a reset) leaves `start --attach` waiting forever: while a build streams, the
 * engine is asked for its version; this many silences in a row and the build is lost.
 */
export const HEARTBEAT: Heartbeat = { everyMs: 15_000, timeoutMs: 10_000, misses: 3 };

const TOO_BIG = Symbol('too big');

const lost = (what: string, output: string) => err(new RunFailedError('lost', `${what}: ${tail(output)}`));

function tail(output: string): string {
  return output.trim().split('\n').slice(-3).join(' / ') || 'no output';
}

/** Makes sure the engine has the env image: loaded through the API from the store (or pulled, given a reference). */
export function ensureImage(o: { podman: Podman; image: ComposedImage; store: Store; engine: EngineState; pull?: PullSource }): Promise<string | undefined> {
  let p = o.engine.loaded.get(o.image.tag);
  if (!p) {
    p = (async () => {
      if (o.pull) {
        const { ref, tlsVerify } = o.pull;
        const pulled = await o.podman.exec({ args: ['pull', '--quiet', `--tls-verify=${tlsVerify}`, '--arch', archInfo(o.image.arch).oci, ref] });
        if (pulled.code !== 0) return `podman pull ${ref} failed: ${tail(pulled.stderr)}`;
        // runs name the image by the tag every runner uses, so a pulled and a loaded image are one
        const tagged = await o.podman.exec({ args: ['tag', ref, o.image.tag] });
        return tagged.code === 0 ? undefined : `podman tag ${ref} ${o.image.tag} failed: ${tail(tagged.stderr)}`;
      }
      const r = await loadEnvImage({ image: o.image, store: o.store, podman: o.podman });
      return r.ok ? undefined : r.error.message;
    })();
    o.engine.loaded.set(o.image.tag, p);
    // a failed load is tried again next time (the engine may have been down)
    void p.then((problem) => problem && o.engine.loaded.delete(o.image.tag));
  }
  return p;
}

/** Removes what lost runs left on the engine; quietly, since it answers again only maybe. */
export async function removeOrphans(o: { podman: Podman; engine: EngineState }): Promise<void> {
  for (const name of [...o.engine.orphans]) {
    const r = await o.podman.exec({ args: ['rm', '--force', '--time', '0', name], timeoutMs: 30_000 });
    if (r.code === 0 || /no such container/i.test(r.stderr)) o.engine.orphans.delete(name);
  }
}

export async function runRemote(o: RemoteRunOptions): Promise<Result<RunOutcome, RunFailedError>> {
  const { podman, spec } = o;
  if (spec.signal?.aborted) return err(new RunFailedError('aborted', 'cancelled before it started'));
  const started = performance.now();
  const limit = o.maxOutputBytes ?? MAX_OUTPUT_BYTES;
  const problem = await ensureImage(o);
  if (problem) return err(new RunFailedError('lost', `cannot get ${o.image.tag} onto the engine: ${problem}`));
  const name = `weld-build-${randomBytes(6).toString('hex')}`;
  const deps = spec.depDirs.map((_, i) => `${DEPS}/${i}`);
  const env = { ...contractEnv(spec, { src: SRC, out: OUT, deps }), HOME: '/tmp', PATH };
  const create = ['create', '--name', name, '--arch', archInfo(o.image.arch).oci, '--network=none'];
  for (const [k, v] of Object.entries(env).sort()) create.push('-e', `${k}=${v}`);
  create.push('-w', SRC, o.image.tag, ...recipeCommand(spec.recipe));
  // Bounded: an engine that stops answering (a host gone without a reset) must not hold the build forever.
  const made = await podman.exec({ args: create, timeoutMs: 120_000 });
  if (made.code !== 0) {
    // an engine whose storage was wiped since: load the image again next time
    if (/image not known|no such image/i.test(made.stderr)) o.engine.loaded.delete(o.image.tag);
    return lost('podman create failed', made.stderr);
  }
  let aborted = false;
  let finished = false;
  // the engine stopped answering: its container is removed once it answers again, not waited on now
  let silent = false;
  const remove = async () => {
    if (silent) {
      o.engine.orphans.add(name);
      return;
    }
    const r = await podman.exec({ args: ['rm', '--force', '--time', '0', name], timeoutMs: 60_000 });
    if (r.code !== 0 && !/no such container/i.test(r.stderr)) o.engine.orphans.add(name);
  };
  const onAbort = () => {
    aborted = true;
    void (async () => {
      // an abort can come while podman's client still attaches: remove until the run is over
      while (!finished) {
        await remove();
        if (!finished) await new Promise((r) => setTimeout(r, 500));
      }
    })();
  };
  spec.signal?.addEventListener('abort', onAbort, { once: true });
  if (spec.signal?.aborted) onAbort();
  try {
    const result = await attempt();
    if (aborted) return err(new RunFailedError('aborted', 'cancelled'));
    return result;
  } finally {
    finished = true;
    spec.signal?.removeEventListener('abort', onAbort);
    await remove();
  }

  async function attempt(): Promise<Result<RunOutcome, RunFailedError>> {
    const input = await treesTar({
      dirs: ['weld', 'weld/out', 'weld/deps'],
      trees: [
        { dir: spec.srcDir, prefix: SRC.slice(1) },
        { dir: path.dirname(spec.recipe), prefix: RECIPE.slice(1) },
        ...spec.depDirs.map((dir, i) => ({ dir, prefix: deps[i]!.slice(1) })),
      ],
    });
    if (!input.ok) return err(new RunFailedError('spawn', `cannot read the build inputs: ${input.error.message}`));
    const copied = await podman.exec({ args: ['cp', '-', `${name}:/`], stdin: Readable.from(input.value), timeoutMs: 30 * 60_000 });
    if (aborted) return err(new RunFailedError('aborted', 'cancelled'));
    if (copied.code !== 0) return lost('copying the inputs in failed', copied.stderr);
    const attached = await attach();
    if (aborted) return err(new RunFailedError('aborted', 'cancelled'));
    if (silent) return lost('the engine stopped answering during the build', attached.stderr);
    // `start -a` exits with the container's status, but also fails when the connection
    // drops: a non-zero status is checked with the engine's own word (`podman wait`).
    let code = 0;
    if (attached.code !== 0) {
      const waited = await podman.exec({ args: ['wait', name], timeoutMs: 60_000 });
      code = waited.code === 0 ? Number(waited.stdout.trim()) : NaN;
      if (!Number.isInteger(code)) return lost('the engine went away during the build', `${attached.stderr}\n${waited.stderr}`);
    }
    if (code !== 0) return err(new RunFailedError('exit', exitReason(code), code));
    const out = await copyOut();
    if (out === TOO_BIG) {
      await emptyDir(spec.outDir);
      // the recipe's doing, not the backend's: another backend would copy back as much
      return err(new RunFailedError('exit', `the outputs are more than ${limit} bytes, the most weld copies back from a backend; nothing of them is kept`));
    }
    if (out) {
      // nothing from a half copy stays for the next attempt to mix with
      await emptyDir(spec.outDir);
      return lost('copying the outputs out failed', out);
    }
    return ok({ durationMs: performance.now() - started });
  }

  function attach(): Promise<{ code: number | null; stderr: string }> {
    const beat = o.heartbeat ?? HEARTBEAT;
    return new Promise((resolve) => {
      const child = spawn(podman.bin, podman.command(['start', '--attach', name]), { env: podman.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let done = false;
      const finish = (r: { code: number | null; stderr: string }) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(r);
      };
      const out = createInterface({ input: child.stdout });
      out.on('line', (l) => spec.onLog(l));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      const closed = new Promise((r) => out.once('close', r));
      child.once('error', (e) => finish({ code: null, stderr: e.message }));
      child.once('close', (code) => void closed.then(() => finish({ code, stderr })));
      // one question at a time, each bounded: a silent engine is found in about misses × (everyMs + timeoutMs)
      let missed = 0;
      let timer: NodeJS.Timeout;
      const ask = async () => {
        const r = await podman.exec({ args: ['version', '--format', '{{.Server.Version}}'], timeoutMs: beat.timeoutMs });
        if (done) return;
        missed = r.code === 0 ? 0 : missed + 1;
        if (missed >= beat.misses) {
          silent = true;
          child.kill('SIGKILL');
          finish({ code: null, stderr: `${beat.misses} health checks in a row got no answer within ${beat.timeoutMs / 1000} s (${tail(r.stderr)})` });
          return;
        }
        timer = setTimeout(() => void ask(), beat.everyMs);
      };
      timer = setTimeout(() => void ask(), beat.everyMs);
    });
  }

  /**
   * `podman cp CTR:/weld/out -` into tar: a tar from another machine, so GNU tar's own
   * guards (no `..`, no absolute names) apply, and at most `limit` bytes of it are read.
   */
  function copyOut(): Promise<string | typeof TOO_BIG | undefined> {
    return new Promise((resolve) => {
      const cp = spawn(podman.bin, podman.command(['cp', `${name}:${OUT}`, '-']), { env: podman.env, stdio: ['ignore', 'pipe', 'pipe'] });
      const tar = spawn('tar', ['-x', '-C', spec.outDir, '--strip-components=1', '--no-overwrite-dir'], { stdio: ['pipe', 'ignore', 'pipe'] });
      let errs = '';
      let bytes = 0;
      let tooBig = false;
      cp.stderr.setEncoding('utf8').on('data', (s: string) => (errs += s));
      tar.stderr.setEncoding('utf8').on('data', (s: string) => (errs += s));
      tar.stdin.on('error', () => undefined);
      cp.stdout.on('data', (chunk: Buffer) => {
        bytes += chunk.byteLength;
        if (bytes > limit && !tooBig) {
          tooBig = true;
          cp.kill('SIGKILL');
          tar.kill('SIGKILL');
        }
      });
      cp.stdout.pipe(tar.stdin);
      const exited = (c: ReturnType<typeof spawn>) => new Promise<number | null>((r) => {
        c.once('error', () => r(127));
        c.once('close', (code) => r(code));
      });
      void Promise.all([exited(cp), exited(tar)]).then(([a, b]) => resolve(tooBig ? TOO_BIG : a === 0 && b === 0 ? undefined : errs || `podman cp exited ${a}, tar ${b}`));
    });
  }
}

export async function emptyDir(dir: string): Promise<void> {
  for (const n of await readdir(dir).catch(() => [] as string[])) await rm(path.join(dir, n), { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}
