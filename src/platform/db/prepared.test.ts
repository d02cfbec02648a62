import { describe, expect, it } from 'vitest';
import type { Executor } from './client.js';
import { preparedPerHandle } from './prepared.js';

describe('preparedPerHandle', () => {
  it('builds a statement once per database handle and runs it with each call’s parameters', async () => {
    const built: unknown[] = [];
    const byId = preparedPerHandle((db) => {
      built.push(db);
      return { execute: async ({ id }: { id: string }) => ({ on: db, id }) };
    });
    const pool = { name: 'pool' } as unknown as Executor;
    const transaction = { name: 'transaction' } as unknown as Executor;

    expect(await byId(pool, { id: 'a' })).toEqual({ on: pool, id: 'a' });
    expect(await byId(pool, { id: 'b' })).toEqual({ on: pool, id: 'b' });
    expect(await byId(transaction, { id: 'c' })).toEqual({ on: transaction, id: 'c' });
    expect(built).toEqual([pool, transaction]);
  });
});
