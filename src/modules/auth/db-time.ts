import { sql, type SQL } from 'drizzle-orm';

/**
 * Expiry times come from the database clock, the same clock the `expires_at > now()` checks
 * use, so servers with drifting clocks still agree on what has expired.
 */
export function secondsFromNow(seconds: number): SQL {
  return sql`now() + ${Math.round(seconds)}::integer * interval '1 second'`;
}
