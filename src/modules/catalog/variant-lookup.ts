import { eq } from 'drizzle-orm';
import type { Context } from '../../platform/context.js';
import { preparedForIds } from '../../platform/db/prepared.js';
import { products, variants } from './schema.js';

/** What an order needs to know about a variant: price snapshot, names, and whether it may be sold. */
export interface VariantForSale {
  variantId: string;
  productId: string;
  sku: string;
  title: string;
  productTitle: string;
  /** Option values, e.g. `{ size: 'M', colour: 'blue' }`. */
  options: Record<string, string>;
  priceAmount: number;
  currency: string;
  weightGrams: number | null;
  /** The product is active and the variant not archived. */
  purchasable: boolean;
}

/** The variants of `variantIds` in one query; unknown ids are absent from the map. */
export async function variantsForSale(
  ctx: Context,
  variantIds: string[],
): Promise<Map<string, VariantForSale>> {
  const out = new Map<string, VariantForSale>();
  if (variantIds.length === 0) return out;
  const rows = await variantsById(ctx.db, [...new Set(variantIds)]);
  for (const { variant: v, productTitle, status } of rows) {
    out.set(v.id, {
      variantId: v.id,
      productId: v.productId,
      sku: v.sku,
      title: v.title,
      productTitle,
      options: v.options,
      priceAmount: v.priceAmount,
      currency: v.currency,
      weightGrams: v.weightGrams,
      purchasable: status === 'active' && v.archivedAt === null,
    });
  }
  return out;
}

const variantsById = preparedForIds(32, (db, idIn, name) =>
  db
    .select({ variant: variants, productTitle: products.title, status: products.status })
    .from(variants)
    .innerJoin(products, eq(products.id, variants.productId))
    .where(idIn(variants.id))
    .prepare(`catalog_variants_for_sale_${name}`),
);
