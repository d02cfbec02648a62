import { asc, sql } from 'drizzle-orm';
import { inTransaction, type Context } from '../../platform/context.js';
import { prepared } from '../../platform/db/prepared.js';
import { AppError, type FieldError } from '../../platform/errors.js';
import { recordAudit } from '../audit/index.js';
import { shippingRates, taxRates } from './schema.js';
import { rateFor, type ShippingRate } from './totals.js';

/** A flat shipping price for a destination (`*` = everywhere else) in one currency. */
export interface ShippingRateSetting {
  country: string;
  currency: string;
  amount: number;
  freeOver: number | null;
}

/** Tax in basis points (1900 = 19 %) for a destination (`*` = everywhere else). */
export interface TaxRateSetting {
  country: string;
  rateBasisPoints: number;
}

/**
 * The shipping rates to `country` in every currency, read before the order's currency is known:
 * `in(currency)` then picks the country's own rate, else `*`'s.
 */
export async function shippingRatesTo(
  ctx: Context,
  country: string,
): Promise<{ in(currency: string): ShippingRate | undefined }> {
  const rows = await shippingRatesOf(ctx.db, { country });
  return {
    in: (currency) =>
      rateFor(
        rows.filter((row) => row.currency === currency),
        country,
      ),
  };
}

/** The tax rate for `country` in basis points: the country's own, else `*`'s, else none (0). */
export async function taxRateFor(ctx: Context, country: string): Promise<number> {
  const rows = await taxRatesOf(ctx.db, { country });
  return rateFor(rows, country)?.rate ?? 0;
}

/** The rows of a country and of `*`, read on every checkout. */
const shippingRatesOf = prepared((db) =>
  db
    .select({
      country: shippingRates.country,
      currency: shippingRates.currency,
      amount: shippingRates.amount,
      freeOver: shippingRates.freeOver,
    })
    .from(shippingRates)
    .where(sql`${shippingRates.country} in (${sql.placeholder('country')}, '*')`)
    .prepare('orders_shipping_rates_of'),
);

const taxRatesOf = prepared((db) =>
  db
    .select({ country: taxRates.country, rate: taxRates.rateBasisPoints })
    .from(taxRates)
    .where(sql`${taxRates.country} in (${sql.placeholder('country')}, '*')`)
    .prepare('orders_tax_rates_of'),
);

export async function listShippingRates(ctx: Context): Promise<ShippingRateSetting[]> {
  const rows = await ctx.db
    .select()
    .from(shippingRates)
    .orderBy(asc(shippingRates.currency), asc(shippingRates.country));
  return rows.map(({ country, currency, amount, freeOver }) => ({ country, currency, amount, freeOver }));
}

export async function listTaxRates(ctx: Context): Promise<TaxRateSetting[]> {
  const rows = await ctx.db.select().from(taxRates).orderBy(asc(taxRates.country));
  return rows.map(({ country, rateBasisPoints }) => ({ country, rateBasisPoints }));
}

/**
 * Replaces the whole shipping table (the dashboard edits it as one list). Audited with the old
 * and new table. Orders already placed keep the shipping they were charged.
 */
export async function replaceShippingRates(
  ctx: Context,
  rates: ShippingRateSetting[],
): Promise<ShippingRateSetting[]> {
  const seen = new Set<string>();
  const errors: FieldError[] = [];
  rates.forEach((rate, i) => {
    const key = `${rate.country}/${rate.currency}`;
    if (seen.has(key))
      errors.push({
        field: `rates.${i}.country`,
        message: `${rate.country} in ${rate.currency} is listed twice`,
      });
    seen.add(key);
  });
  if (errors.length > 0) throw new AppError('VALIDATION_ERROR', 'The request is invalid.', errors);

  return inTransaction(ctx, async (tx) => {
    // Serialises concurrent replacements; plain reads (checkout) are not blocked.
    await tx.db.execute(sql`lock table ${shippingRates} in exclusive mode`);
    const before = await listShippingRates(tx);
    await tx.db.delete(shippingRates);
    if (rates.length > 0) await tx.db.insert(shippingRates).values(rates);
    const after = await listShippingRates(tx);
    await recordAudit(tx, {
      action: 'orders.shipping_rates_replaced',
      targetType: 'settings',
      targetId: 'shipping_rates',
      diff: { rates: { from: before, to: after } },
    });
    return after;
  });
}

/** Replaces the whole tax table; it must keep a `*` rate, so every destination has one. Audited. */
export async function replaceTaxRates(ctx: Context, rates: TaxRateSetting[]): Promise<TaxRateSetting[]> {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  rates.forEach((rate, i) => {
    if (seen.has(rate.country))
      errors.push({ field: `rates.${i}.country`, message: `${rate.country} is listed twice` });
    seen.add(rate.country);
  });
  if (!seen.has('*'))
    errors.push({ field: 'rates', message: 'must include the fallback rate for country "*" (it may be 0)' });
  if (errors.length > 0) throw new AppError('VALIDATION_ERROR', 'The request is invalid.', errors);

  return inTransaction(ctx, async (tx) => {
    await tx.db.execute(sql`lock table ${taxRates} in exclusive mode`);
    const before = await listTaxRates(tx);
    await tx.db.delete(taxRates);
    await tx.db.insert(taxRates).values(rates);
    const after = await listTaxRates(tx);
    await recordAudit(tx, {
      action: 'orders.tax_rates_replaced',
      targetType: 'settings',
      targetId: 'tax_rates',
      diff: { rates: { from: before, to: after } },
    });
    return after;
  });
}
