import type { Context } from '../../platform/context.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import type { Inventory } from '../inventory/index.js';
import { lastUtcDays, salesByDay } from '../orders/index.js';
import { countFailedPayments } from '../payments/index.js';
import { countSignups } from '../users/index.js';

export const OVERVIEW_DAYS = 30;
const LOW_STOCK_LISTED = 10;

/**
 * The numbers an operator checks each morning, from each owning module's own aggregate query:
 * orders and revenue per day, sign-ups, low-stock variants, failed payments, dead letters.
 */
export async function shopOverview(
  ctx: Context,
  deps: { jobs: Jobs; inventory: Inventory },
  now = new Date(),
) {
  const days = lastUtcDays(OVERVIEW_DAYS, now);
  const since = { today: new Date(`${days.at(-1)}T00:00:00Z`), month: new Date(`${days[0]}T00:00:00Z`) };
  // Sequential on purpose: PGlite has one connection, and each query is a single indexed scan.
  const sales = await salesByDay(ctx, OVERVIEW_DAYS, now);
  const signups = await countSignups(ctx, since);
  const failedPayments = await countFailedPayments(ctx, since);
  const lowStock = await deps.inventory.lowStockReport(ctx, LOW_STOCK_LISTED);
  const deadLetters = await deps.jobs.deadLetters(ctx.db, { page: 1, perPage: 1 });
  return { sales, signups, failedPayments, lowStock, deadLetters: deadLetters.total };
}
