import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import { inTransaction, type Context, type TxContext } from '../../platform/context.js';
import { AppError, conflict, notFound } from '../../platform/errors.js';
import { diffOf, recordAudit } from '../audit/index.js';
import type { Inventory } from '../inventory/index.js';
import { slugify, uniqueHandles } from './handles.js';
import type { CreateProductInput, ProductStatus, UpdateProductInput } from './http-schemas.js';
import {
  asConflict,
  existingCategoryIds,
  insertProducts,
  productDraft,
  refreshProductIndex,
} from './product-writer.js';
import { catalogChanged } from './invalidation.js';
import { productCategories, products, variants } from './schema.js';

export type Product = typeof products.$inferSelect;

export async function getProductRecord(tx: Context, id: string): Promise<Product> {
  const [product] = await tx.db.select().from(products).where(eq(products.id, id)).limit(1);
  if (!product) throw notFound('Product');
  return product;
}

export async function assertCategoriesExist(tx: Context, ids: string[]): Promise<void> {
  const known = await existingCategoryIds(tx.db, ids);
  const unknown = ids.findIndex((id) => !known.has(id));
  if (unknown >= 0)
    throw new AppError('VALIDATION_ERROR', 'The request is invalid.', [
      { field: `category_ids.${unknown}`, message: 'no such category' },
    ]);
}

/** CONFLICT naming the first SKU of `skus` that a variant (other than `exceptVariantId`) already has. */
export async function assertSkusFree(
  tx: Context,
  skus: string[],
  field: (index: number) => string,
  exceptVariantId?: string,
) {
  if (skus.length === 0) return;
  const rows = await tx.db
    .select({ sku: variants.sku })
    .from(variants)
    .where(and(inArray(variants.sku, skus), exceptVariantId ? ne(variants.id, exceptVariantId) : undefined));
  const taken = new Set(rows.map((r) => r.sku));
  const index = skus.findIndex((s) => taken.has(s));
  if (index >= 0)
    throw conflict(`SKU ${skus[index]} is already in use.`, { field: field(index), sku: skus[index] });
}

async function assertHandleFree(tx: Context, handle: string, exceptProductId?: string) {
  const [row] = await tx.db
    .select({ id: products.id })
    .from(products)
    .where(and(eq(products.handle, handle), exceptProductId ? ne(products.id, exceptProductId) : undefined))
    .limit(1);
  if (row) throw conflict(`The handle ${handle} is already in use.`, { field: 'handle', handle });
}

/** Creates a product with its variants and their initial stock, in one transaction; returns its id. */
export async function createProduct(
  ctx: Context,
  inventory: Inventory,
  input: CreateProductInput,
): Promise<string> {
  return inTransaction(ctx, async (tx) => {
    await assertCategoriesExist(tx, input.category_ids);
    await assertSkusFree(
      tx,
      input.variants.map((v) => v.sku),
      (i) => `variants.${i}.sku`,
    );
    let handle = input.handle;
    if (handle) await assertHandleFree(tx, handle);
    else [handle] = await uniqueHandles(tx.db, products, products.handle, [slugify(input.title)]);
    const draft = productDraft(input, handle!);
    await insertProducts(tx, inventory, [draft]);
    await recordAudit(tx, {
      action: 'catalog.product_created',
      targetType: 'product',
      targetId: draft.id,
      metadata: { handle: draft.handle, status: draft.status, variants: draft.variants.length },
    });
    return draft.id;
  });
}

/** Changes product fields; categories, images and attributes are replaced as a whole. */
export async function updateProduct(ctx: Context, id: string, input: UpdateProductInput): Promise<void> {
  await inTransaction(ctx, async (tx) => {
    const before = await getProductRecord(tx, id);
    if (input.handle && input.handle !== before.handle) await assertHandleFree(tx, input.handle, id);
    if (input.category_ids) await replaceCategories(tx, id, input.category_ids);
    const patch = {
      title: input.title,
      handle: input.handle,
      description: input.description,
      status: input.status,
      images: input.images,
      attributes: input.attributes,
    };
    try {
      await tx.db
        .update(products)
        .set({ ...definedOnly(patch), updatedAt: sql`now()` })
        .where(eq(products.id, id));
    } catch (error) {
      throw asConflict(error) ?? error;
    }
    if (input.title !== undefined || input.description !== undefined || input.attributes !== undefined)
      await refreshProductIndex(tx.db, [id]);
    await catalogChanged(tx);
    const diff = diffOf(
      { title: before.title, handle: before.handle, status: before.status },
      { title: input.title, handle: input.handle, status: input.status },
    );
    if (Object.keys(diff).length > 0)
      await recordAudit(tx, { action: 'catalog.product_updated', targetType: 'product', targetId: id, diff });
  });
}

export async function setProductStatus(ctx: Context, id: string, status: ProductStatus): Promise<void> {
  await inTransaction(ctx, async (tx) => {
    const before = await getProductRecord(tx, id);
    if (before.status === status) return;
    await tx.db
      .update(products)
      .set({ status, updatedAt: sql`now()` })
      .where(eq(products.id, id));
    await catalogChanged(tx);
    await recordAudit(tx, {
      action: status === 'archived' ? 'catalog.product_archived' : 'catalog.product_updated',
      targetType: 'product',
      targetId: id,
      diff: { status: { from: before.status, to: status } },
    });
  });
}

async function replaceCategories(tx: TxContext, productId: string, categoryIds: string[]) {
  const ids = [...new Set(categoryIds)];
  await assertCategoriesExist(tx, ids);
  await tx.db.delete(productCategories).where(eq(productCategories.productId, productId));
  if (ids.length > 0)
    await tx.db.insert(productCategories).values(ids.map((categoryId) => ({ productId, categoryId })));
}

export function definedOnly<T extends Record<string, unknown>>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}
