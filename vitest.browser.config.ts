import { defineConfig } from 'vitest/config';

// The admin dashboard in a real browser (Chromium via playwright-core) against a running server.
// Separate from `npm test`: run with `npm run test:browser`; it builds nothing, so run `npm run build` first.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
  },
});
