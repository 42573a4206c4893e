import { defineConfig } from 'vitest/config';

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
  },
});
