import { readFile } from 'node:fs/promises';
import path from 'node:path';
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
    await c.wait(30_000);
    c.log('never');
    return 0;
  },
  lines: async (c) => (expectedLines().forEach((l) => c.log(l)), 0),
};

runnerContract({ name: 'fake', make: () => new FakeRunner((c) => programs[path.basename(c.spec.recipe, '.sh')]!(c)) });
