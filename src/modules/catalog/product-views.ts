import { and, asc, eq, getTableColumns, getTableName, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import type { Context } from '../../platform/context.js';
import type { Inventory } from '../inventory/index.js';
import { UUID_PATTERN } from '../../platform/ids.js';
import type { ProductDto, ProductStatus } from './http-schemas.js';
import { categories, productCategories, products, variants } from './schema.js';

export interface CategoryRef {
  id: string;
  handle: string;
  name: string;
}

// Drizzle writes the columns of a single-table select unqualified, which inside this subquery
// would name the inner tables' columns; the product's id is therefore spelt out in full.
const productId = sql`${sql.identifier(getTableName(products))}.${sql.identifier(products.id.name)}`;

/** The columns of a product as views need them: no search document, categories inlined. */
export const productColumns = {
  id: products.id,
  handle: products.handle,
  title: products.title,
  description: products.description,
  status: products.status,
  images: products.images,
  attributes: products.attributes,
  createdAt: products.createdAt,
  updatedAt: products.updatedAt,
  categories: sql<CategoryRef[]>`coalesce((
    select json_agg(json_build_object('id', ${categories.id}, 'handle', ${categories.handle}, 'name', ${categories.name})
                    order by ${categories.position}, ${categories.name})
    from ${productCategories} join ${categories} on ${categories.id} = ${productCategories.categoryId}
    where ${productCategories.productId} = ${productId}), '[]'::json)`,
};

type VariantView = ProductDto['variants'][number];

/**
 * A product's live variants with their available units, exactly as the storefront shows them,
 * built by the database inside the product query: a page of products is then one round trip.
 */
export function storefrontVariants(inventory: Inventory): SQL<VariantView[]> {
  const v = sql.identifier('v');
  return sql<VariantView[]>`coalesce((
    select json_agg(json_build_object(
        'id', ${v}.id, 'sku', ${v}.sku, 'title', ${v}.title, 'options', ${v}.options,
        'price', json_build_object('amount', ${v}.price_amount, 'currency', ${v}.currency),
        'weight_grams', ${v}.weight_grams,
        'available', coalesce(${inventory.availableUnits(sql`${v}.id`)}, 0))
      order by ${v}.position, ${v}.created_at)
    from ${variants} ${v}
    where ${v}.product_id = ${productId} and ${v}.archived_at is null), '[]'::json)`;
}

export type ProductRow = {
  id: string;
  handle: string;
  title: string;
  description: string;
  status: string;
  images: string[];
  attributes: Record<string, string | number | boolean>;
  createdAt: Date;
  updatedAt: Date;
  categories: CategoryRef[];
  /** Storefront variants, when the query that found the product already built them. */
  variants?: VariantView[];
};

/** By id or handle; `statuses` limits which products are visible (the storefront sees active ones). */
export async function findProduct(
  ctx: Context,
  ref: string,
  statuses?: readonly ProductStatus[],
): Promise<ProductRow | undefined> {
  const filters: SQL[] = [
    UUID_PATTERN.test(ref) ? eq(products.id, ref) : eq(products.handle, ref.toLowerCase()),
  ];
  if (statuses) filters.push(inArray(products.status, [...statuses]));
  const [row] = await ctx.db
    .select(productColumns)
    .from(products)
    .where(and(...filters))
    .limit(1);
  return row;
}

/** Storefront views of the active products among `ids`, by id, built in one query. */
export async function listedProductViews(
  ctx: Context,
  inventory: Inventory,
  ids: string[],
): Promise<Map<string, ProductDto>> {
  const rows = await ctx.db
    .select({ ...productColumns, variants: storefrontVariants(inventory) })
    .from(products)
    .where(and(sql`${products.id} = any(${`{${ids.join(',')}}`}::uuid[])`, eq(products.status, 'active')));
  const views = await productViews(ctx, inventory, rows, { admin: false });
  return new Map(views.map((view) => [view.id, view]));
}

/**
 * Full views of a page of products: their variants with stock in one query however many products
 * the page holds, or none when the rows carry storefront variants already. The storefront (`admin: false`) never
 * sees archived variants; admin views show them with `archived_at`.
 */
export async function productViews(
  ctx: Context,
  inventory: Inventory,
  rows: ProductRow[],
  options: { admin: boolean },
): Promise<ProductDto[]> {
  if (rows.length === 0) return [];
  const byProduct =
    !options.admin && rows.every((r) => r.variants)
      ? new Map(rows.map((r) => [r.id, r.variants!]))
      : await variantsOf(ctx, inventory, rows, options);
  return rows.map((r) => ({
    id: r.id,
    handle: r.handle,
    title: r.title,
    description: r.description,
    status: r.status as ProductStatus,
    images: r.images,
    attributes: r.attributes,
    categories: r.categories,
    variants: byProduct.get(r.id) ?? [],
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  }));
}

/** The variants of `rows` with their stock, in one query (stock as a scalar subquery). */
async function variantsOf(
  ctx: Context,
  inventory: Inventory,
  rows: ProductRow[],
  options: { admin: boolean },
): Promise<Map<string, VariantView[]>> {
  const variantRows = await ctx.db
    .select({ ...getTableColumns(variants), available: inventory.availableUnits(variants.id) })
    .from(variants)
    .where(
      and(
        inArray(
          variants.productId,
          rows.map((r) => r.id),
        ),
        options.admin ? undefined : isNull(variants.archivedAt),
      ),
    )
    .orderBy(asc(variants.productId), asc(variants.position), asc(variants.createdAt));
  const byProduct = new Map<string, VariantView[]>();
  for (const v of variantRows) {
    const list = byProduct.get(v.productId) ?? [];
    list.push({
      id: v.id,
      sku: v.sku,
      title: v.title,
      options: v.options,
      price: { amount: v.priceAmount, currency: v.currency },
      weight_grams: v.weightGrams,
      available: v.available ?? 0,
      ...(options.admin ? { archived_at: v.archivedAt?.toISOString() ?? null } : {}),
    });
    byProduct.set(v.productId, list);
  }
  return byProduct;
}

/** The views with every variant's `available` taken from `available` (0 for a variant absent from it). */
export function withStock(
  views: readonly ProductDto[],
  available: ReadonlyMap<string, number>,
): ProductDto[] {
  return views.map((p) => ({
    ...p,
    variants: p.variants.map((v) => ({ ...v, available: available.get(v.id) ?? 0 })),
  }));
}

/** The `available` of every variant of `views`, in order: two answers of the same views with equal signatures are equal. */
export function stockSignature(views: readonly ProductDto[], available: ReadonlyMap<string, number>): string {
  let signature = '';
  for (const p of views) for (const v of p.variants) signature += `${available.get(v.id) ?? 0},`;
  return signature;
}

/**
 * The `available` units of every variant of `views`, as inventory has them now. `views` is the
 * key inventory remembers the answer under: a cached page's or product's own object answers the
 * same map again while its stock has not changed.
 */
export function stockOfViews(
  inventory: Inventory,
  views: readonly ProductDto[] | ProductDto,
): Promise<ReadonlyMap<string, number>> {
  return inventory.availableFor(views, () =>
    (Array.isArray(views) ? views : [views]).flatMap((p: ProductDto) => p.variants.map((v) => v.id)),
  );
}
