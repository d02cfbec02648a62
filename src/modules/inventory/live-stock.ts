import { sql } from 'drizzle-orm';
import type { Context } from '../../platform/context.js';
import { preparedPerHandle } from '../../platform/db/prepared.js';
import { batchPerTurn } from '../../platform/turn-batch.js';
import { UUID_PATTERN } from './ids.js';
import { stockLevels } from './schema.js';

type Executor = Context['db'];

const batched = batchPerTurn<string, Map<string, number>>();

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
  const db = ctx.db;
  // Only well-formed ids join the batch: one caller's bad id must not fail the others' query.
  return batched(
    db,
    variantIds.filter((id) => UUID_PATTERN.test(id)),
    (ids) => readAvailable(db, ids),
  );
}

const availableById = preparedPerHandle((db) =>
  db
    .select({ variantId: stockLevels.variantId, available: stockLevels.available })
    .from(stockLevels)
    .where(sql`${stockLevels.variantId} = any(${sql.placeholder('ids')}::uuid[])`)
    .prepare('available_by_id'),
);

async function readAvailable(db: Executor, ids: string[]): Promise<Map<string, number>> {
  const rows = await availableById(db, { ids: `{${ids.join(',')}}` });
  return new Map(rows.map((row) => [row.variantId, row.available]));
}
