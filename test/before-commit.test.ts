import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beforeCommit, inTransaction, systemContext, type Context } from '../src/platform/context.js';
import { openDatabase, rowsOf, type DatabaseHandle } from '../src/platform/db/client.js';
import { testDatabaseUrl } from './helpers/env.js';

/** `beforeCommit` on the database the suite runs on: PostgreSQL when DATABASE_URL is set, else PGlite. */
describe('writes sent before the commit', () => {
  let handle: DatabaseHandle;
  let ctx: Context;
  let dataDir: string;
  const table = `before_commit_${process.pid}`;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'bazaar-before-commit-'));
    handle = await openDatabase({ url: testDatabaseUrl, dataDir, poolSize: 2 });
    ctx = systemContext(handle.db);
    await handle.db.execute(sql.raw(`create table ${table} (id int primary key)`));
  });
  afterAll(async () => {
    await handle.db.execute(sql.raw(`drop table if exists ${table}`));
    await handle.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const insert = (on: Context, id: number) => on.db.execute(sql.raw(`insert into ${table} values (${id})`));
  const ids = async () =>
    rowsOf<{ id: number }>(await handle.db.execute(sql.raw(`select id from ${table} order by id`))).map(
      (r) => r.id,
    );

  it('lets the work go on at once and commits the write with the transaction', async () => {
    let settledWhenCalled: boolean | undefined;
    await inTransaction(ctx, async (tx) => {
      let settled = false;
      await beforeCommit(
        tx,
        insert(tx, 1).then(() => (settled = true)),
      );
      settledWhenCalled = settled;
      await insert(tx, 2);
    });
    expect(settledWhenCalled).toBe(false);
    expect(await ids()).toEqual([1, 2]);
  });

  it('rolls the whole transaction back when the write fails', async () => {
    await expect(
      inTransaction(ctx, async (tx) => {
        await insert(tx, 3);
        await beforeCommit(tx, insert(tx, 1)); // the key exists: a unique violation
      }),
    ).rejects.toThrow();
    expect(await ids()).toEqual([1, 2]);
  });

  it('waits for a write still under way before rolling back a failed transaction', async () => {
    let finished = false;
    await expect(
      inTransaction(ctx, async (tx) => {
        await beforeCommit(
          tx,
          (async () => {
            await tx.db.execute(sql`select pg_sleep(0.05)`);
            await insert(tx, 4);
            finished = true;
          })(),
        );
        throw new Error('the work failed');
      }),
    ).rejects.toThrow('the work failed');
    // The write ran inside the transaction, before its rollback, and went with it.
    expect(finished).toBe(true);
    expect(await ids()).toEqual([1, 2]);
  });

  it('waits for writes sent while waiting, even after one of the writes failed', async () => {
    let settled = false;
    await expect(
      inTransaction(ctx, async (tx) => {
        const duplicate = insert(tx, 1); // the key exists: a unique violation
        await beforeCommit(
          tx,
          (async () => {
            await duplicate.catch(() => undefined);
            // Sent once the transaction already waits on this write, and after a write failed.
            await beforeCommit(
              tx,
              (async () => {
                try {
                  // Slow work of its own before its statement (the scenario, not a wait).
                  await new Promise((resolve) => setTimeout(resolve, 20));
                  await insert(tx, 6);
                } finally {
                  settled = true;
                }
              })(),
            );
            await duplicate;
          })(),
        );
      }),
    ).rejects.toThrow();
    // Had the rollback gone out first, the late insert would have run outside the transaction.
    expect(settled).toBe(true);
    expect(await ids()).toEqual([1, 2]);
  });

  it('outside a transaction, waits for the write', async () => {
    await beforeCommit(ctx, insert(ctx, 5));
    expect(await ids()).toEqual([1, 2, 5]);
  });
});
