import { sql } from 'drizzle-orm';
import type { Context } from '../../platform/context.js';
import { stockLevels } from './schema.js';

type Executor = Context['db'];

interface Batch {
  ids: Set<string>;
  result: Promise<Map<string, number>>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The batch still collecting ids, per database handle. */
const collecting = new WeakMap<Executor, Batch>();

/**
 * Units available right now of each variant (variants without a stock row are absent). Storefront
 * reads call this on every answer, so concurrent callers on the same database handle share one
 * query: the ids asked for during one turn of the event loop are read together as soon as it
 * ends. Every caller still gets values read after it asked. Outside transactions only — a
 * transaction's reads must see its own writes; use `stockOf` there. The map is shared by the
 * batch's callers: read it, never change it.
 */
export function availableOf(ctx: Context, variantIds: string[]): Promise<Map<string, number>> {
  if (variantIds.length === 0) return Promise.resolve(new Map<string, number>());
  let batch = collecting.get(ctx.db);
  if (!batch) {
    const ids = new Set<string>();
    const db = ctx.db;
    const result = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      collecting.delete(db);
      return readAvailable(db, [...ids]);
    });
    batch = { ids, result };
    collecting.set(db, batch);
  }
  // Only well-formed ids join the batch: one caller's bad id must not fail the others' query.
  for (const id of variantIds) if (UUID.test(id)) batch.ids.add(id);
  return batch.result;
}

async function readAvailable(db: Executor, ids: string[]): Promise<Map<string, number>> {
  const rows = await db
    .select({ variantId: stockLevels.variantId, available: stockLevels.available })
    .from(stockLevels)
    .where(sql`${stockLevels.variantId} = any(${`{${ids.join(',')}}`}::uuid[])`);
  return new Map(rows.map((row) => [row.variantId, row.available]));
}
