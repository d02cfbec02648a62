import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBench } from '../bench/run.js';
import { loadSettings } from '../bench/lib/settings.js';
import { testRedisUrl } from './helpers/env.js';

/**
 * Keeps the benchmark harness from rotting: one tiny scenario end to end (seeded database,
 * Bazaar as its own process, autocannon, the ceiling server, result files) for about a second
 * of load. No timing is asserted; only that the result has its fields and saw no errors.
 */
describe('benchmark harness', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bazaar-bench-smoke-'));
    const build = spawnSync(process.execPath, ['scripts/ensure-built.mjs'], { stdio: 'inherit' });
    expect(build.status).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the product-detail scenario against its ceiling and writes the result and the table', async () => {
    const settings = loadSettings({
      BENCH_EMBEDDED: '1',
      ...(testRedisUrl ? { BENCH_REDIS_URL: testRedisUrl } : {}),
      BENCH_WARMUP: '0',
      BENCH_DURATION: '2',
      BENCH_ROUNDS: '2',
      BENCH_CONNECTIONS: '2',
      BENCH_CUSTOMERS: '1',
      BENCH_STOCKED_VARIANTS: '1',
      BENCH_RESULTS_DIR: dir,
    });
    await runBench(['product-detail'], settings);

    const result = JSON.parse(readFileSync(path.join(dir, 'product-detail.json'), 'utf8'));
    expect(result.scenario).toBe('product-detail');
    expect(result.settings).toMatchObject({
      database: 'embedded',
      duration_seconds: 2,
      rounds: 2,
      connections: 2,
    });
    const [row] = result.rows;
    expect(row).toMatchObject({ unit: 'req/s', errors: 0, non_2xx: 0 });
    for (const field of ['rate', 'p50', 'p90', 'p99', 'rss_mb_max', 'cpu_pct_avg', 'response_bytes', 'ratio'])
      expect(typeof row[field], field).toBe('number');
    expect(row.rate).toBeGreaterThan(0);
    expect(row.rss_mb_max).toBeGreaterThan(0);
    expect(row.ceiling.rate).toBeGreaterThan(0);
    // Loaded in two rounds of turns with its ceiling: one ratio per round.
    expect(row.round_ratios).toHaveLength(2);
    for (const ratio of row.round_ratios) expect(ratio).toBeGreaterThan(0);
    expect(row.detail.requests).toBeGreaterThan(0);

    const table = readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(table).toContain('| product-detail | product detail |');
    expect(existsSync(path.join(dir, 'product-detail.json'))).toBe(true);
  }, 240_000);
});
