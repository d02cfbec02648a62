import { sql } from 'drizzle-orm';
import type { Context } from '../../platform/context.js';
import { rowsOf } from '../../platform/db/client.js';
import { orders } from './schema.js';

export interface Revenue {
  currency: string;
  /** Minor units: paid order totals less their refunds. */
  amount: number;
}

export interface SalesDay {
  /** UTC calendar day, YYYY-MM-DD. */
  date: string;
  orders: number;
  revenue: Revenue[];
}

/**
 * Orders placed and revenue per UTC day over the last `days` days (today included, oldest
 * first, days without orders present with zeros): one grouped scan of the created_at index.
 */
export async function salesByDay(ctx: Context, days: number, now = new Date()): Promise<SalesDay[]> {
  const dates = lastUtcDays(days, now);
  const since = new Date(`${dates[0]}T00:00:00Z`);
  const rows = rowsOf<{ day: string; currency: string; orders: number | string; revenue: number | string }>(
    await ctx.db.execute(sql`
      select to_char(${orders.createdAt} at time zone 'UTC', 'YYYY-MM-DD') as day,
             ${orders.currency} as currency,
             count(*) as orders,
             coalesce(sum(${orders.total} - ${orders.refundedTotal}) filter (where ${orders.paidAt} is not null), 0) as revenue
      from ${orders}
      where ${orders.createdAt} >= ${since.toISOString()}::timestamptz
      group by 1, 2`),
  );
  const byDay = new Map<string, SalesDay>(dates.map((date) => [date, { date, orders: 0, revenue: [] }]));
  for (const row of rows) {
    const day = byDay.get(row.day);
    if (!day) continue;
    day.orders += Number(row.orders);
    if (Number(row.revenue) > 0) day.revenue.push({ currency: row.currency, amount: Number(row.revenue) });
  }
  for (const day of byDay.values()) day.revenue.sort((a, b) => a.currency.localeCompare(b.currency));
  return [...byDay.values()];
}

/** The last `count` UTC dates (YYYY-MM-DD), oldest first, ending with today's. */
export function lastUtcDays(count: number, now = new Date()): string[] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Array.from({ length: count }, (_, i) =>
    new Date(today - (count - 1 - i) * 86_400_000).toISOString().slice(0, 10),
  );
}
