import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'scripts/**/*.test.ts'],
    // The dashboard's browser suite has its own config (vitest.browser.config.ts, npm run test:browser).
    exclude: ['test/browser/**', 'node_modules/**'],
    testTimeout: 30_000,
    // Migrating a fresh PGlite template takes several seconds; setup hooks get room for it.
    hookTimeout: 120_000,
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    fileParallelism: true,
    // The CI machines have 2 cores.
    maxWorkers: 2,
  },
});
