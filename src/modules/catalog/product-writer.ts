import { randomUUID } from 'node:crypto';
import { and, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import { getTableConfig, type PgColumn } from 'drizzle-orm/pg-core';
import type { TxContext } from '../../platform/context.js';
import type { Executor } from '../../platform/db/client.js';
import { AppError, conflict } from '../../platform/errors.js';
import type { Inventory } from '../inventory/index.js';
import { violatedUniqueConstraint } from '../../platform/db/errors.js';
import type { CreateProductInput, ProductStatus, VariantInput } from './http-schemas.js';
import { catalogChanged } from './invalidation.js';
import { categories, productCategories, products, variants } from './schema.js';

/** A product ready to insert: ids chosen, handle resolved, inputs validated. */
export interface ProductDraft {
  id: string;
  handle: string;
  title: string;
  description: string;
  status: ProductStatus;
  images: string[];
  attributes: Record<string, string | number | boolean>;
  categoryIds: string[];
  createdAt?: Date;
  variants: VariantDraft[];
}

export interface VariantDraft {
  id: string;
  sku: string;
  title: string;
  options: Record<string, string>;
  priceAmount: number;
  currency: string;
  weightGrams: number | null;
  position: number;
  initialStock: number;
}

const BATCH = 500;

export function variantTitle(options: Record<string, string>): string {
  const values = Object.values(options);
  return values.length > 0 ? values.join(' / ') : 'Default';
}

export function variantDraft(input: VariantInput, position: number): VariantDraft {
  return {
    id: randomUUID(),
    sku: input.sku,
    title: input.title ?? variantTitle(input.options),
    options: input.options,
    priceAmount: input.price.amount,
    currency: input.price.currency,
    weightGrams: input.weight_grams ?? null,
    position,
    initialStock: input.initial_stock ?? 0,
  };
}

export function productDraft(input: CreateProductInput, handle: string): ProductDraft {
  return {
    id: randomUUID(),
    handle,
    title: input.title,
    description: input.description,
    status: input.status,
    images: input.images,
    attributes: input.attributes,
    categoryIds: [...new Set(input.category_ids)],
    variants: input.variants.map(variantDraft),
  };
}

/**
 * Inserts products (with their price and search columns) and their variants, category links and
 * stock, in batches of 500 rows per statement, in the caller's transaction. Used by create,
 * import and the demo seed alike.
 */
export async function insertProducts(
  tx: TxContext,
  inventory: Inventory,
  drafts: ProductDraft[],
): Promise<void> {
  if (drafts.length === 0) return;
  const links = drafts.flatMap((p) => p.categoryIds.map((categoryId) => ({ productId: p.id, categoryId })));
  const variantRows = drafts.flatMap((p) =>
    p.variants.map((v) => ({
      id: v.id,
      productId: p.id,
      sku: v.sku,
      title: v.title,
      options: v.options,
      priceAmount: v.priceAmount,
      currency: v.currency,
      weightGrams: v.weightGrams,
      position: v.position,
      ...(p.createdAt ? { createdAt: p.createdAt, updatedAt: p.createdAt } : {}),
    })),
  );
  try {
    for (let i = 0; i < drafts.length; i += BATCH) {
      await tx.db.insert(products).values(
        drafts.slice(i, i + BATCH).map((p) => ({
          id: p.id,
          handle: p.handle,
          title: p.title,
          description: p.description,
          status: p.status,
          images: p.images,
          attributes: p.attributes,
          // Written with the row (not by refreshProductIndex afterwards): one version per row.
          ...cheapestOf(p.variants),
          search: searchDocument(
            sql`${p.title}::text`,
            sql`${JSON.stringify(p.attributes)}::jsonb`,
            sql`${p.description}::text`,
          ),
          ...(p.createdAt ? { createdAt: p.createdAt, updatedAt: p.createdAt } : {}),
        })),
      );
    }
    for (let i = 0; i < links.length; i += BATCH) {
      await tx.db.insert(productCategories).values(links.slice(i, i + BATCH));
    }
    for (let i = 0; i < variantRows.length; i += BATCH) {
      await tx.db.insert(variants).values(variantRows.slice(i, i + BATCH));
    }
  } catch (error) {
    throw asConflict(error) ?? error;
  }
  await inventory.initializeStockLevels(
    tx,
    drafts.flatMap((p) => p.variants.map((v) => ({ variantId: v.id, sku: v.sku, onHand: v.initialStock }))),
  );
  await catalogChanged(tx);
}

/** `min_price` and `currency` of a new product: its cheapest variant's (ties: the first). */
function cheapestOf(variants: VariantDraft[]): { minPrice: number | null; currency: string | null } {
  const cheapest = [...variants].sort((a, b) => a.priceAmount - b.priceAmount || a.position - b.position)[0];
  return { minPrice: cheapest?.priceAmount ?? null, currency: cheapest?.currency ?? null };
}

/**
 * The weighted search document: title A, attribute values B, description C. The 'simple'
 * configuration behaves the same on PGlite and PostgreSQL and does not stem, so names and brands
 * are matched as written.
 */
function searchDocument(title: SQL | PgColumn, attributes: SQL | PgColumn, description: SQL | PgColumn): SQL {
  return sql`setweight(to_tsvector('simple', ${title}), 'A')
    || setweight(to_tsvector('simple', coalesce((select string_agg(a.value, ' ') from jsonb_each_text(${attributes}) a), '')), 'B')
    || setweight(to_tsvector('simple', ${description}), 'C')`;
}

/** A unique violation of a handle or SKU as the CONFLICT a client can act on (a race lost). */
export function asConflict(error: unknown): AppError | undefined {
  const constraint = violatedUniqueConstraint(error);
  if (constraint === undefined) return undefined;
  if (constraint.includes('sku'))
    return conflict('A variant with this SKU already exists.', { field: 'sku' });
  if (constraint.includes('handle')) return conflict('This handle is already in use.', { field: 'handle' });
  return conflict('This record already exists.');
}

/**
 * Recomputes the columns the storefront filters and ranks on after a change: `min_price` and
 * `currency` from the live variants, and the search document.
 */
export async function refreshProductIndex(db: Executor, productIds: string[]): Promise<void> {
  const live = and(sql`${variants.productId} = ${products.id}`, isNull(variants.archivedAt));
  for (let i = 0; i < productIds.length; i += 1000) {
    await db
      .update(products)
      .set({
        minPrice: sql`(select min(${variants.priceAmount}) from ${variants} where ${live})`,
        currency: sql`(select ${variants.currency} from ${variants} where ${live} order by ${variants.priceAmount}, ${variants.position} limit 1)`,
        search: searchDocument(products.title, products.attributes, products.description),
      })
      .where(inArray(products.id, productIds.slice(i, i + 1000)));
  }
}

/** The ids among `ids` that are categories; the rest are unknown. */
export async function existingCategoryIds(db: Executor, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .select({ id: categories.id })
    .from(categories)
    .where(inArray(categories.id, [...new Set(ids)]));
  return new Set(rows.map((r) => r.id));
}

/**
 * After a bulk load (seed, import): merge the GIN indexes' pending lists and refresh the planner's
 * statistics. PostgreSQL's autovacuum does both eventually; PGlite has no autovacuum, and until
 * then every full-text probe scans the whole pending list. Best effort: it needs ownership of the
 * tables, which the user that ran the migrations has; without it autovacuum is left to do it.
 */
export async function tidyAfterBulkLoad(tx: TxContext): Promise<void> {
  const gin = getTableConfig(products).indexes.filter((i) => i.config.method === 'gin' && i.config.name);
  try {
    await tx.db.transaction(async (sp) => {
      for (const index of gin)
        await sp.execute(sql`select gin_clean_pending_list(${index.config.name!}::regclass)`);
      await sp.execute(sql`analyze ${products}, ${variants}, ${productCategories}, ${categories}`);
    });
  } catch {
    // Not the owner: nothing lost but speed until autovacuum runs.
  }
}
