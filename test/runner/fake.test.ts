import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSpec } from '../../src/runner/runner.js';
import { FakeRunner, type FakeProgram } from '../helpers/fake-runner.js';
import { expectedLines, runnerContract } from './contract.js';

// The fake emulates each contract recipe in JavaScript, so the executor tests that use it
// rest on the same promises as the real runners.
const programs: Record<string, FakeProgram> = {
  env: async (c) => {
    const e = c.spec.env;
    c.log(`pkg=${e['WELD_PACKAGE']} version=${e['WELD_VERSION']} epoch=${e['SOURCE_DATE_EPOCH']} jobs=${c.spec.jobs} deps=${c.spec.depDirs.join(':')} flavour=${e['FLAVOUR']}`);
    await readFile(path.join(c.spec.srcDir, 'hello.txt'));
    c.log('dirs-ok');
    return 0;
  },
  'write-src': async (c) => (c.log('tried'), 0),
  output: async (c) => (await c.write('wheels/demo-1.0-py3-none-any.whl', 'wheel'), 0),
  fail: async (c) => (c.log('before the failure'), 3),
  hang: async (c) => {
    c.log('started');
    // the background child of the shell recipe: dies with the abort like the rest
    void c.wait(2_000).then(() => c.write('late', 'late\n'), () => undefined);
    await c.wait(30_000);
    c.log('never');
    return 0;
  },
  lines: async (c) => (expectedLines().forEach((l) => c.log(l)), 0),
};

runnerContract({ name: 'fake', make: () => new FakeRunner((c) => programs[path.basename(c.spec.recipe, '.sh')]!(c)) });

// What executor tests read off the fake besides the contract: who started, who finished,
// and how many ran at once.
describe('fake runner bookkeeping', () => {
  it('records start and finish order and the most builds running at once', async () => {
    const runner = new FakeRunner(async (c) => (await c.wait(c.pkg === 'slow' ? 50 : 5), 0));
    const spec = (pkg: string): RunSpec => ({ envName: 'e', recipe: '/r.sh', srcDir: '/s', outDir: '/o', depDirs: [], env: { WELD_PACKAGE: pkg }, jobs: 1, onLog: () => {} });
    const [a, b] = await Promise.all([runner.run(spec('slow')), runner.run(spec('fast'))]);
    expect(a.ok && b.ok).toBe(true);
    expect(runner.started).toEqual(['slow', 'fast']);
    expect(runner.finished).toEqual(['fast', 'slow']);
    expect(runner.maxConcurrent).toBe(2);
    const failed = await new FakeRunner(async () => 3).run(spec('x'));
    expect(!failed.ok && failed.error.exitCode).toBe(3);
  });
});
