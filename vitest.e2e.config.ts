import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

// The main job runs first, on an empty shared store, as on a fresh machine: its
// first `weld up` builds every package, so it can assert exact counts. The other files
// follow by name and reuse what it built (see test/e2e/global-setup.ts).
class MainJobFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => (f.moduleId.endsWith('/main-job.test.ts') ? 0 : 1);
    return [...files].sort((a, b) => rank(a) - rank(b) || a.moduleId.localeCompare(b.moduleId));
  }
}

// Real podman, real Debian mirror, s390x under qemu: minutes, not seconds. Needs a host
// set up by `weld doctor --fix`; run by .ci/run after it.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    globalSetup: ['test/e2e/global-setup.ts'],
    testTimeout: 20 * 60_000,
    hookTimeout: 20 * 60_000,
    pool: 'forks',
    fileParallelism: false,
    sequence: { sequencer: MainJobFirst },
  },
});
