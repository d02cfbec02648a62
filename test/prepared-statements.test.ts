import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import { taxRates } from '../src/modules/orders/schema.js';
import type { Database, Executor } from '../src/platform/db/client.js';
import { prepared, preparedPerCount } from '../src/platform/db/prepared.js';

/** On the run's own database (PGlite, or PostgreSQL when DATABASE_URL is set). */
describe('prepared statements', () => {
  let app: TestApp;
  let db: Database;
  beforeAll(async () => {
    app = await createTestApp();
    db = app.bazaar.database.db;
  });
  afterAll(() => app.close());

  const builds: number[] = [];
  const rateOf = prepared((on: Executor) => {
    builds.push(1);
    return on
      .select({ rate: taxRates.rateBasisPoints })
      .from(taxRates)
      .where(eq(taxRates.country, sql.placeholder('country')))
      .prepare('test_rate_of');
  });

  class Rollback extends Error {}
  /** Runs `work` in a transaction that is then rolled back. */
  async function rolledBack(work: (tx: Executor) => Promise<void>) {
    await expect(
      db.transaction(async (tx) => {
        await work(tx);
        throw new Rollback();
      }),
    ).rejects.toBeInstanceOf(Rollback);
  }

  it('is built once and runs inside the caller’s transaction and savepoint, seeing their writes', async () => {
    // Built on the pool first: the transaction below must not run it there.
    expect(await rateOf(db, { country: 'QA' })).toEqual([]);
    await rolledBack(async (tx) => {
      await tx.insert(taxRates).values({ country: 'QA', rateBasisPoints: 1234 });
      expect(await rateOf(tx, { country: 'QA' })).toEqual([{ rate: 1234 }]);
      await tx.transaction(async (sp) => {
        await sp.insert(taxRates).values({ country: 'QB', rateBasisPoints: 42 });
        expect(await rateOf(sp, { country: 'QB' })).toEqual([{ rate: 42 }]);
      });
    });
    // The writes were rolled back; the pool's connection never saw them.
    expect(await rateOf(db, { country: 'QA' })).toEqual([]);
    expect(await rateOf(db, { country: 'QB' })).toEqual([]);
    expect(builds).toHaveLength(1);
  });

  it('builds one statement per count, and each call above the limit afresh', async () => {
    const counts: number[] = [];
    const insertRates = preparedPerCount(2, (on: Executor, count) => {
      counts.push(count);
      return on
        .insert(taxRates)
        .values(
          Array.from({ length: count }, (_, i) => ({
            country: sql.placeholder(`country${i}`),
            rateBasisPoints: sql.placeholder(`rate${i}`),
          })),
        )
        .returning({ country: taxRates.country, rate: taxRates.rateBasisPoints })
        .prepare(`test_insert_rates_${count}`);
    });
    await rolledBack(async (tx) => {
      expect(await insertRates(tx, 1, { country0: 'QC', rate0: 1 })).toEqual([{ country: 'QC', rate: 1 }]);
      expect(await insertRates(tx, 1, { country0: 'QD', rate0: 2 })).toEqual([{ country: 'QD', rate: 2 }]);
      await insertRates(tx, 2, { country0: 'QE', rate0: 3, country1: 'QF', rate1: 4 });
      await insertRates(tx, 3, {
        country0: 'QG',
        rate0: 5,
        country1: 'QH',
        rate1: 6,
        country2: 'QI',
        rate2: 7,
      });
      await insertRates(tx, 3, {
        country0: 'QJ',
        rate0: 8,
        country1: 'QK',
        rate1: 9,
        country2: 'QL',
        rate2: 10,
      });
      const rows = await tx
        .select({ country: taxRates.country })
        .from(taxRates)
        .where(inArray(taxRates.country, ['QC', 'QD', 'QE', 'QF', 'QG', 'QH', 'QI', 'QJ', 'QK', 'QL']));
      expect(rows).toHaveLength(10);
    });
    expect(counts).toEqual([1, 2, 3, 3]);
  });
});
