import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { err, ok, type Result } from '../../src/core/result.js';
import { RunFailedError, type RunOutcome, type Runner, type RunnerInfo, type RunSpec } from '../../src/runner/runner.js';

// The one fake of a real thing: a Runner whose "recipe" is a JavaScript function.
// It records what ran and how many ran at once, so executor tests can see order and parallelism.

export interface FakeContext {
  spec: RunSpec;
  /** WELD_PACKAGE */
  pkg: string;
  log(line: string): void;
  /** writes a file under WELD_OUT */
  write(rel: string, content: string): Promise<void>;
  /** resolves after `ms`, or rejects as soon as the build is aborted */
  wait(ms: number): Promise<void>;
}

/** Returns the exit status. */
export type FakeProgram = (c: FakeContext) => Promise<number>;

export class FakeRunner implements Runner {
  readonly name = 'fake';
  readonly started: string[] = [];
  readonly finished: string[] = [];
  maxConcurrent = 0;
  private running = 0;

  constructor(private readonly program: FakeProgram) {}

  async info(): Promise<RunnerInfo> {
    return { arch: 'fake64', envImage: { runner: 'fake' }, warnings: [] };
  }

  async run(spec: RunSpec): Promise<Result<RunOutcome, RunFailedError>> {
    if (spec.signal?.aborted) return err(new RunFailedError('aborted', 'cancelled before it started'));
    const pkg = spec.env['WELD_PACKAGE'] ?? '';
    this.started.push(pkg);
    this.running++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.running);
    const t0 = performance.now();
    const ctx: FakeContext = {
      spec,
      pkg,
      log: (l) => spec.onLog(l),
      write: async (rel, content) => {
        await mkdir(path.dirname(path.join(spec.outDir, rel)), { recursive: true });
        await writeFile(path.join(spec.outDir, rel), content);
      },
      wait: (ms) => sleep(ms, undefined, spec.signal ? { signal: spec.signal } : {}),
    };
    try {
      const code = await this.program(ctx);
      if (code !== 0) return err(new RunFailedError('exit', `the recipe exited with status ${code}`, code));
      return ok({ durationMs: performance.now() - t0 });
    } catch (e: unknown) {
      if (spec.signal?.aborted) return err(new RunFailedError('aborted', 'cancelled'));
      throw e;
    } finally {
      this.running--;
      this.finished.push(pkg);
    }
  }
}
