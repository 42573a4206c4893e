import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyOverlay, REPO_ROOT, sampleProject, weld } from '../helpers/project.js';

// Each directory under test/fixtures/bad is a set of files laid over a copy of the
// sample distro, and `expected.txt` is exactly what `weld check` must print.
// WELD_UPDATE_GOLDEN=1 rewrites the expectations (review the diff before committing).
const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/bad');
const cases = readdirSync(FIXTURES).sort();

describe('weld check on bad metadata', () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => cleanup?.());

  it('has at least 15 distinct fixtures', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  for (const name of cases) {
    it(`reports ${name}`, async () => {
      const project = sampleProject();
      cleanup = project.cleanup;
      applyOverlay(project.root, path.join(FIXTURES, name), ['expected.txt']);
      const r = await weld(['check'], { cwd: project.root });
      const expectedFile = path.join(FIXTURES, name, 'expected.txt');
      // Only an explicit update writes expectations: a missing expected.txt is a failure,
      // not a new golden that would pass whatever was printed.
      if (process.env['WELD_UPDATE_GOLDEN']) writeFileSync(expectedFile, r.stderr);
      expect(existsSync(expectedFile), `${expectedFile} is missing; run with WELD_UPDATE_GOLDEN=1 and review it`).toBe(true);
      expect(r.stderr).toBe(readFileSync(expectedFile, 'utf8'));
      expect(r.stdout).toBe('');
      expect(r.code).toBe(1);
    });
  }
});
