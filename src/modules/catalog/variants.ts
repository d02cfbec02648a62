import { and, eq, isNull, ne, sql } from 'drizzle-orm';
import { inTransaction, type Context, type TxContext } from '../../platform/context.js';
import { conflict, notFound, validation } from '../../platform/errors.js';
import { recordAudit } from '../audit/index.js';
import type { Inventory } from '../inventory/index.js';
import type { UpdateVariantInput, VariantInput } from './http-schemas.js';
import { asConflict, refreshProductIndex, variantDraft, variantTitle } from './product-writer.js';
import { assertSkusFree, definedOnly, getProductRecord } from './products.js';
import { catalogChanged } from './invalidation.js';
import { products, variants } from './schema.js';

type Variant = typeof variants.$inferSelect;

async function getVariant(tx: Context, productId: string, variantId: string): Promise<Variant> {
  const [variant] = await tx.db
    .select()
    .from(variants)
    .where(and(eq(variants.id, variantId), eq(variants.productId, productId)))
    .limit(1);
  if (!variant) throw notFound('Variant');
  return variant;
}

const optionsKey = (options: Record<string, string>) =>
  JSON.stringify(Object.entries(options).sort(([a], [b]) => a.localeCompare(b)));

/** A product sells in one currency, and no two of its live variants share the same options. */
async function assertFitsSiblings(
  tx: TxContext,
  productId: string,
  candidate: { currency?: string; options?: Record<string, string> },
  exceptVariantId?: string,
) {
  const siblings = await tx.db
    .select({ currency: variants.currency, options: variants.options, sku: variants.sku })
    .from(variants)
    .where(
      and(
        eq(variants.productId, productId),
        isNull(variants.archivedAt),
        exceptVariantId ? ne(variants.id, exceptVariantId) : undefined,
      ),
    );
  const currency = siblings[0]?.currency;
  if (candidate.currency && currency && candidate.currency !== currency)
    throw validation('price.currency', `all variants of a product use one currency (${currency})`);
  if (candidate.options) {
    const same = siblings.find((s) => optionsKey(s.options) === optionsKey(candidate.options!));
    if (same)
      throw conflict(`Variant ${same.sku} already has these options.`, { field: 'options', sku: same.sku });
  }
}

async function touchProduct(tx: TxContext, productId: string) {
  await tx.db
    .update(products)
    .set({ updatedAt: sql`now()` })
    .where(eq(products.id, productId));
  await refreshProductIndex(tx.db, [productId]);
  await catalogChanged(tx);
}

export async function addVariant(
  ctx: Context,
  inventory: Inventory,
  productId: string,
  input: VariantInput,
): Promise<string> {
  return inTransaction(ctx, async (tx) => {
    await getProductRecord(tx, productId);
    await assertSkusFree(tx, [input.sku], () => 'sku');
    await assertFitsSiblings(tx, productId, { currency: input.price.currency, options: input.options });
    const [last] = await tx.db
      .select({ position: sql<number>`coalesce(max(${variants.position}), -1)::int` })
      .from(variants)
      .where(eq(variants.productId, productId));
    const draft = variantDraft(input, (last?.position ?? -1) + 1);
    try {
      await tx.db.insert(variants).values({
        id: draft.id,
        productId,
        sku: draft.sku,
        title: draft.title,
        options: draft.options,
        priceAmount: draft.priceAmount,
        currency: draft.currency,
        weightGrams: draft.weightGrams,
        position: draft.position,
      });
    } catch (error) {
      throw asConflict(error) ?? error;
    }
    await inventory.initializeStock(tx, { id: draft.id, sku: draft.sku }, draft.initialStock);
    await touchProduct(tx, productId);
    return draft.id;
  });
}

/** Changes a variant; a price change is audited as `catalog.price_changed`. */
export async function updateVariant(
  ctx: Context,
  inventory: Inventory,
  productId: string,
  variantId: string,
  input: UpdateVariantInput,
): Promise<void> {
  await inTransaction(ctx, async (tx) => {
    const before = await getVariant(tx, productId, variantId);
    if (input.sku && input.sku !== before.sku) await assertSkusFree(tx, [input.sku], () => 'sku', variantId);
    const optionsChanged = input.options && optionsKey(input.options) !== optionsKey(before.options);
    if (!before.archivedAt)
      await assertFitsSiblings(
        tx,
        productId,
        { currency: input.price?.currency, options: optionsChanged ? input.options : undefined },
        variantId,
      );
    const patch = definedOnly({
      sku: input.sku,
      title:
        input.title ??
        (optionsChanged && before.title === variantTitle(before.options)
          ? variantTitle(input.options!)
          : undefined),
      options: input.options,
      priceAmount: input.price?.amount,
      currency: input.price?.currency,
      weightGrams: input.weight_grams,
    });
    try {
      await tx.db
        .update(variants)
        .set({ ...patch, updatedAt: sql`now()` })
        .where(eq(variants.id, variantId));
    } catch (error) {
      throw asConflict(error) ?? error;
    }
    if (input.sku && input.sku !== before.sku) await inventory.renameSku(tx, variantId, input.sku);
    if (
      input.price &&
      (input.price.amount !== before.priceAmount || input.price.currency !== before.currency)
    ) {
      await recordAudit(tx, {
        action: 'catalog.price_changed',
        targetType: 'variant',
        targetId: variantId,
        diff: {
          price_amount: { from: before.priceAmount, to: input.price.amount },
          ...(input.price.currency !== before.currency
            ? { currency: { from: before.currency, to: input.price.currency } }
            : {}),
        },
        metadata: { product_id: productId, sku: input.sku ?? before.sku },
      });
    }
    await touchProduct(tx, productId);
  });
}

/** Hides a variant from the storefront for good; its stock and order history stay. */
export async function archiveVariant(ctx: Context, productId: string, variantId: string): Promise<void> {
  await inTransaction(ctx, async (tx) => {
    const variant = await getVariant(tx, productId, variantId);
    if (variant.archivedAt) return;
    await tx.db
      .update(variants)
      .set({ archivedAt: sql`now()`, updatedAt: sql`now()` })
      .where(eq(variants.id, variantId));
    await recordAudit(tx, {
      action: 'catalog.variant_archived',
      targetType: 'variant',
      targetId: variantId,
      metadata: { product_id: productId, sku: variant.sku },
    });
    await touchProduct(tx, productId);
  });
}
