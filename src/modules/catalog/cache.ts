import { createHash } from 'node:crypto';
import type { Context } from '../../platform/context.js';
import { notFound } from '../../platform/errors.js';
import type { Inventory } from '../inventory/index.js';
import { categoryTree } from './categories.js';
import { categoryTreeCacheEntity, productCacheEntity, productListCacheEntity } from './invalidation.js';
import type { CategoryNode, ProductDto } from './http-schemas.js';
import { findProduct, productViews, withLiveStock } from './product-views.js';
import { searchProducts, type ProductSearch, type SearchResult } from './search.js';

/** An active product by id or handle, as the storefront sees it; NOT_FOUND otherwise. */
export async function storefrontProduct(
  ctx: Context,
  inventory: Inventory,
  ref: string,
): Promise<ProductDto> {
  const load = async () => {
    const row = await findProduct(ctx, ref, ['active']);
    if (!row) throw notFound('Product');
    const [view] = await productViews(ctx, inventory, [row], { admin: false, stock: false });
    return view!;
  };
  const view = ctx.cache
    ? await ctx.cache.getOrLoad(productCacheEntity, ref.toLowerCase(), load)
    : await load();
  const [live] = await withLiveStock(ctx, inventory, [view]);
  return live!;
}

export type StorefrontPage = Omit<SearchResult, 'rows'> & { views: ProductDto[] };

/**
 * A storefront list or search page. Pages filtered by `in_stock` are not cached: which products
 * they hold changes with every sale.
 */
export async function storefrontSearch(
  ctx: Context,
  inventory: Inventory,
  search: ProductSearch,
): Promise<StorefrontPage> {
  const load = async (): Promise<StorefrontPage> => {
    const { rows, ...result } = await searchProducts(ctx, inventory, search);
    return { ...result, views: await productViews(ctx, inventory, rows, { admin: false, stock: false }) };
  };
  const page =
    ctx.cache && search.inStock === undefined
      ? await ctx.cache.getOrLoad(productListCacheEntity, searchKey(search), load)
      : await load();
  return { ...page, views: await withLiveStock(ctx, inventory, page.views) };
}

export function cachedCategoryTree(ctx: Context): Promise<CategoryNode[]> {
  const load = () => categoryTree(ctx);
  return ctx.cache ? ctx.cache.getOrLoad(categoryTreeCacheEntity, 'all', load) : load();
}

/** The normalized query (parsed, defaults applied, keys sorted) as a short hash. */
export function searchKey(search: ProductSearch): string {
  return createHash('sha256').update(stableJson(search)).digest('base64url').slice(0, 32);
}

function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
}
