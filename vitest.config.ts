import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // podman end-to-end tests run apart: `npm run test:e2e` (see .ci/run)
    exclude: ['test/e2e/**', '**/node_modules/**'],
    // Tests spawn real processes and git repos; the machine has 2 cores.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
