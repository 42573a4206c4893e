import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Runner } from '../../src/runner/runner.js';

// One suite for every Runner (after wireit's test/cache-common.ts): the executor relies
// on exactly these promises, whichever runner is picked.

/** The recipes the cases run, by name; a fake runner gets the same names to emulate. */
export const CONTRACT_RECIPES: Record<string, string> = {
  env: 'echo "pkg=$WELD_PACKAGE version=$WELD_VERSION epoch=$SOURCE_DATE_EPOCH jobs=$WELD_JOBS deps=$WELD_DEPS flavour=$FLAVOUR"\n' + 'test -f "$WELD_SRC/hello.txt" && test -d "$WELD_OUT" && echo dirs-ok\n',
  // Subshells: a failed redirection on `:` would end the whole script.
  'write-src': '( echo changed > "$WELD_SRC/hello.txt" ) 2>/dev/null\n( : > "$WELD_SRC/new-file" ) 2>/dev/null\necho tried\n',
  output: 'mkdir -p "$WELD_OUT/wheels"\nprintf wheel > "$WELD_OUT/wheels/demo-1.0-py3-none-any.whl"\n',
  fail: 'echo before the failure\nexit 3\n',
  // The background child writes `late` 2 s in unless the abort killed it: seen from the
  // host through WELD_OUT whatever the runner (a container's pids are not the host's).
  hang: 'echo started\n( sleep 2; echo late > "$WELD_OUT/late" ) &\nsleep 30 &\necho $! > "$WELD_OUT/child.pid"\nwait\necho never\n',
  lines: 'i=0\nwhile [ $i -lt 200 ]; do\n  echo "out $i"\n  if [ $((i % 3)) = 0 ]; then echo "err $i" >&2; fi\n  i=$((i + 1))\ndone\n',
};

/** The log the `lines` recipe must produce, in order. */
export function expectedLines(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 200; i++) {
    out.push(`out ${i}`);
    if (i % 3 === 0) out.push(`err ${i}`);
  }
  return out;
}

/** Running, as opposed to gone or a zombie nobody reaped yet (containers often lack an init that reaps). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 40 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}

export interface ContractOptions {
  name: string;
  make: () => Runner;
  /** how the recipe sees dependency directories (a container mounts them elsewhere) */
  depsSeenAs?: (hostDirs: string[]) => string[];
  /** whether a pid the recipe writes is a pid of this host (not so in a container) */
  hostPids?: boolean;
  /** the env the runs name (default bookworm-s390x; a podman runner needs one with an image) */
  envName?: string;
}

export function runnerContract(opts: ContractOptions): void {
  describe(`Runner contract: ${opts.name}`, () => {
    const dirs: string[] = [];
    afterEach(() => {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    });

    async function runCase(name: string, extra: { signal?: AbortSignal; depDirs?: string[] } = {}) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'weld-contract-'));
      dirs.push(dir);
      const [src, out, recipes] = ['src', 'out', 'recipe'].map((d) => path.join(dir, d)) as [string, string, string];
      for (const d of [src, out, recipes]) mkdirSync(d);
      writeFileSync(path.join(src, 'hello.txt'), 'hello\n');
      const recipe = path.join(recipes, `${name}.sh`);
      writeFileSync(recipe, CONTRACT_RECIPES[name]!);
      const lines: string[] = [];
      const t0 = performance.now();
      const result = await opts.make().run({
        envName: opts.envName ?? 'bookworm-s390x',
        recipe,
        srcDir: src,
        outDir: out,
        depDirs: extra.depDirs ?? [],
        env: { WELD_PACKAGE: 'demo', WELD_VERSION: '1.0', SOURCE_DATE_EPOCH: '1700000000', FLAVOUR: 'mild' },
        jobs: 3,
        onLog: (l) => lines.push(l),
        ...(extra.signal ? { signal: extra.signal } : {}),
      });
      return { result, lines, src, out, seconds: (performance.now() - t0) / 1000 };
    }

    it('gives the recipe the contract environment', async () => {
      const base = mkdtempSync(path.join(os.tmpdir(), 'weld-contract-deps-'));
      dirs.push(base);
      const depDirs = ['a', 'b'].map((d) => path.join(base, d));
      for (const d of depDirs) mkdirSync(d);
      const r = await runCase('env', { depDirs });
      expect(r.result.ok).toBe(true);
      const seen = (opts.depsSeenAs ?? ((d) => d))(depDirs);
      expect(r.lines).toEqual([`pkg=demo version=1.0 epoch=1700000000 jobs=3 deps=${seen.join(':')} flavour=mild`, 'dirs-ok']);
    });

    it('does not let the recipe change WELD_SRC', async () => {
      const r = await runCase('write-src');
      expect(r.result.ok).toBe(true);
      expect(r.lines).toEqual(['tried']);
      expect(readFileSync(path.join(r.src, 'hello.txt'), 'utf8')).toBe('hello\n');
      expect(readdirSync(r.src)).toEqual(['hello.txt']);
    });

    it('leaves what the recipe wrote in WELD_OUT', async () => {
      const r = await runCase('output');
      expect(r.result.ok).toBe(true);
      expect(readFileSync(path.join(r.out, 'wheels/demo-1.0-py3-none-any.whl'), 'utf8')).toBe('wheel');
    });

    it('turns a non-zero exit into a failure with the status in its reason', async () => {
      const r = await runCase('fail');
      expect(r.result.ok).toBe(false);
      if (r.result.ok) return;
      expect(r.result.error.failure).toBe('exit');
      expect(r.result.error.exitCode).toBe(3);
      expect(r.result.error.reason).toBe('the recipe exited with status 3');
      expect(r.lines).toEqual(['before the failure']);
    });

    it('stops the recipe, and what it started, when aborted', async () => {
      const abort = new AbortController();
      const pending = runCase('hang', { signal: abort.signal });
      await new Promise((r) => setTimeout(r, 500));
      abort.abort();
      const r = await pending;
      expect(r.result.ok).toBe(false);
      if (!r.result.ok) expect(r.result.error.failure).toBe('aborted');
      expect(r.seconds).toBeLessThan(10);
      expect(r.lines).not.toContain('never');
      const pidFile = path.join(r.out, 'child.pid');
      if (opts.hostPids !== false && existsSync(pidFile)) expect(await gone(Number(readFileSync(pidFile, 'utf8')))).toBe(true);
      // What the recipe started in the background is dead too, in every runner: its
      // write, due 2 s after the start, never comes.
      await new Promise((r) => setTimeout(r, 2500));
      expect(existsSync(path.join(r.out, 'late'))).toBe(false);
    });

    it('delivers log lines in the order written, stdout and stderr together', async () => {
      const r = await runCase('lines');
      expect(r.result.ok).toBe(true);
      expect(r.lines).toEqual(expectedLines());
    });
  });
}
