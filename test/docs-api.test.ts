import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';

/** docs/api.md promises its `sh` blocks work against a live server: this keeps the promise. */
describe('docs/api.md', () => {
  let app: TestApp;
  beforeAll(async () => {
    // As after `npm start`: the demo catalog is there, and the worker delivers gateway webhooks.
    app = await createTestApp({ listen: true, work: true });
    await app.bazaar.catalog.seedDemoCatalog(app.bazaar.systemContext(), { products: 60 });
  });
  afterAll(() => app.close());

  it('runs every sh block, in order, in one shell, without a failure', { timeout: 120_000 }, async () => {
    const guide = readFileSync('docs/api.md', 'utf8');
    const blocks = [...guide.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThan(5);
    const script = [
      'set -euo pipefail',
      ...blocks.map((block, i) => `echo "--- block ${i + 1}"\n${block}`),
    ].join('\n');
    let output = '';
    try {
      // Asynchronous on purpose: the server under test runs in this process.
      ({ stdout: output } = await promisify(execFile)('bash', ['-c', script], {
        env: { ...process.env, BASE: app.url },
        timeout: 90_000,
      }));
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message?: string };
      throw new Error(`a block of docs/api.md failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    }
    expect(output).toContain(`--- block ${blocks.length}`);
  });
});
