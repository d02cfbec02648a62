import { sql } from 'drizzle-orm';
import type { Context } from '../../platform/context.js';
import { rowsOf } from '../../platform/db/client.js';
import { payments } from './schema.js';

/** Failed payment attempts since each of the given instants (one scan of the status index). */
export async function countFailedPayments(
  ctx: Context,
  since: { today: Date; month: Date },
): Promise<{ today: number; last30Days: number }> {
  const [row] = rowsOf<{ today: number | string; month: number | string }>(
    await ctx.db.execute(sql`
      select count(*) filter (where ${payments.createdAt} >= ${since.today.toISOString()}::timestamptz) as today,
             count(*) as month
      from ${payments}
      where ${payments.status} = 'failed' and ${payments.createdAt} >= ${since.month.toISOString()}::timestamptz`),
  );
  return { today: Number(row?.today ?? 0), last30Days: Number(row?.month ?? 0) };
}
