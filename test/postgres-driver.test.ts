import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { testDatabaseUrl } from './helpers/env.js';

/**
 * postgres.js 3.4.9 could send a transaction's BEGIN without reserving its connection whenever the
 * connection's pipeline was full (porsager/postgres#823): the transaction failed with
 * UNSAFE_TRANSACTION and the connection went back to the pool inside it. That was the rare 500 of
 * the 200-parallel-orders test. scripts/patch-postgres.mjs (run at install) fixes it; with a
 * pipeline of 0 every BEGIN is the one that fills it, so the unpatched driver fails every time.
 */
describe.skipIf(!testDatabaseUrl)('postgres.js transactions (patched driver)', () => {
  it('reserves the connection of every BEGIN, even one that fills the pipeline', async () => {
    // `max_pipeline` is a documented option that postgres.js' type definitions leave out.
    const options = { max: 2, max_pipeline: 0, onnotice: () => undefined } as postgres.Options<never>;
    const sql = postgres(testDatabaseUrl!, options);
    try {
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, n) =>
          sql.begin(async (tx) => {
            const [row] = await tx<{ n: number }[]>`select ${n}::int as n`;
            return row!.n;
          }),
        ),
      );
      expect(results).toEqual([0, 1, 2, 3, 4, 5]);
      // No connection was left inside a transaction: a plain statement runs in its own.
      const [state] = await sql<{ in_transaction: boolean }[]>`
        select (select count(*) from pg_stat_activity
                where pid = pg_backend_pid() and state = 'idle in transaction') > 0 as in_transaction`;
      expect(state!.in_transaction).toBe(false);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});
