import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type TestApp } from './helpers/app.js';
import { taxRates } from '../src/modules/orders/schema.js';
import { users } from '../src/modules/users/schema.js';
import { rowsOf, type Database, type Executor } from '../src/platform/db/client.js';
import { prepared, preparedForIds, preparedPerCount } from '../src/platform/db/prepared.js';

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
  const usersById = preparedForIds(2, (on: Executor, idIn, name) =>
    on.select({ id: users.id }).from(users).where(idIn(users.id)).prepare(`test_users_by_id_${name}`),
  );
  const sorted = (rows: { id: string }[]) => rows.map((r) => r.id).sort();

  it('finds rows by a list of ids of any length, within the caller’s transaction', async () => {
    const ids = await Promise.all([signUp(app), signUp(app), signUp(app)]).then((u) =>
      u.map((x) => x.userId),
    );
    expect(await usersById(db, [])).toEqual([]);
    expect(sorted(await usersById(db, ids.slice(0, 1)))).toEqual(ids.slice(0, 1).sort());
    expect(sorted(await usersById(db, ids.slice(0, 2)))).toEqual(ids.slice(0, 2).sort());
    // Above `max`: one array parameter.
    expect(sorted(await usersById(db, [...ids, ids[0]!]))).toEqual([...ids].sort());
    await rolledBack(async (tx) => {
      await tx.delete(users).where(eq(users.id, ids[1]!));
      expect(sorted(await usersById(tx, ids))).toEqual([ids[0]!, ids[2]!].sort());
    });
  });

  it.skipIf(!process.env.DATABASE_URL)(
    'lets PostgreSQL keep its generic plan for a list of ids of one length',
    async () => {
      const { userId } = await signUp(app);
      const plans = async (tx: Executor, statement: string) => {
        const rows = rowsOf<{ generic: number; custom: number }>(
          await tx.execute(sql`
            select generic_plans::int as generic, custom_plans::int as custom from pg_prepared_statements
            where statement like ${`%${statement}%`}`),
        );
        expect(rows).toHaveLength(1);
        return rows[0]!;
      };
      await rolledBack(async (tx) => {
        for (let i = 0; i < 8; i += 1) {
          expect(sorted(await usersById(tx, [userId]))).toEqual([userId]);
          expect(sorted(await usersById(tx, [userId, userId, userId]))).toEqual([userId]);
        }
        // PostgreSQL plans the first five runs of a statement (on this connection) for their
        // parameters, then keeps its generic plan if that is no dearer.
        const list = await plans(tx, '"users"."id" in ($1)');
        expect(list.custom).toBeLessThanOrEqual(5);
        expect(list.generic).toBeGreaterThanOrEqual(3);
      });
    },
  );
});
