import { createHash } from 'node:crypto';
import type { Cache, CacheEntity } from '../../platform/cache/cache.js';
import type { Context } from '../../platform/context.js';
import { notFound } from '../../platform/errors.js';
import { batchPerTurn } from '../../platform/turn-batch.js';
import type { Inventory } from '../inventory/index.js';
import { categoryTree } from './categories.js';
import { typoCandidates } from './fuzzy.js';
import {
  categoryTreeCacheEntity,
  productCacheEntity,
  productListCacheEntity,
  searchWordCacheEntity,
} from './invalidation.js';
import type { CategoryNode, ProductDto } from './http-schemas.js';
import { findProduct, listedProductViews, productViews, stockOfViews } from './product-views.js';
import {
  correctionsFrom,
  searchProductIds,
  searchProducts,
  type Corrections,
  type ProductSearch,
  type SearchResult,
} from './search.js';

/*
 * Storefront reads. `ctx` is the primary, `readCtx` the read replica (or the primary again).
 * Cached representations are always loaded from the primary: a replica's lag must never be
 * stored for a whole TTL after the invalidation that followed a write. Uncached reads (cache off
 * for the entity, or pages that cannot be cached) go to the replica. Stock is never part of a
 * cached entry: every answer carries the `available` of its variants as inventory has it now
 * (inventory's `availableOf`).
 */

/**
 * What a storefront answer shows: products as the cache holds them (shared and frozen: never
 * change them; `withStock` makes the answer's copies) and the units available of their variants
 * now. `cached` says the views are a cache entry, the same object for every request that hits it
 * until it is invalidated or expires; the answers to such requests can be rendered once.
 */
export interface Stocked<T> {
  value: T;
  available: ReadonlyMap<string, number>;
  cached: boolean;
}

/** An active product by id or handle, as the storefront sees it; NOT_FOUND otherwise. */
export async function storefrontProduct(
  ctx: Context,
  readCtx: Context,
  inventory: Inventory,
  ref: string,
): Promise<Stocked<ProductDto>> {
  const load = async (on: Context) => {
    const row = await findProduct(on, ref, ['active']);
    if (!row) throw notFound('Product');
    const [view] = await productViews(on, inventory, [row], { admin: false });
    return view!;
  };
  const cache = cachingOf(ctx, productCacheEntity);
  const view = cache
    ? await cache.getOrLoad(productCacheEntity, ref.toLowerCase(), () => load(ctx))
    : await load(readCtx);
  return { value: view, available: await stockOfViews(inventory, view), cached: cache !== undefined };
}

export type StorefrontPage = Omit<SearchResult, 'rows'> & { views: ProductDto[] };

/**
 * A storefront list or search page. Pages filtered by `in_stock` are not cached: which products
 * they hold changes with every sale.
 */
export async function storefrontSearch(
  ctx: Context,
  readCtx: Context,
  inventory: Inventory,
  search: ProductSearch,
): Promise<Stocked<StorefrontPage>> {
  const load = async (on: Context): Promise<StorefrontPage> => {
    const { rows, ...result } = await searchProducts(on, inventory, search);
    return { ...result, views: await productViews(on, inventory, rows, { admin: false }) };
  };
  const stocked = async (page: StorefrontPage, cached: boolean) => ({
    value: page,
    available: await stockOfViews(inventory, page.views),
    cached,
  });
  const pageCache = search.inStock === undefined ? cachingOf(ctx, productListCacheEntity) : undefined;
  if (pageCache) {
    return stocked(
      await pageCache.getOrLoad(productListCacheEntity, searchKey(search), () => load(ctx)),
      true,
    );
  }
  // A page that is not cached is still searched afresh, but its products' representations come
  // from the product cache: PostgreSQL only finds and ranks.
  const productCache = cachingOf(ctx, productCacheEntity);
  if (!productCache) return stocked(await load(readCtx), false);
  const wordCache = cachingOf(ctx, searchWordCacheEntity);
  const correct = wordCache ? rememberedCorrections(ctx, wordCache) : correctionsFrom(readCtx);
  const { ids, ...result } = await searchProductIds(readCtx, inventory, search, correct);
  const views = await cachedProductViews(ctx, inventory, productCache, ids);
  return stocked({ ...result, views }, false);
}

/**
 * Corrections of query words (search.ts) from the read cache, one entry per word: a search whose
 * words were seen since the catalog last changed asks PostgreSQL only for its page. Words too
 * short or too long to correct are never looked up.
 */
function rememberedCorrections(ctx: Context, cache: Cache): Corrections {
  const fromPrimary = correctionsFrom(ctx);
  return async (words) =>
    new Map(
      await Promise.all(
        typoCandidates(words).map(
          async (word) =>
            [
              word,
              await cache.getOrLoad(
                searchWordCacheEntity,
                word,
                async () => (await fromPrimary([word])).get(word) ?? [],
              ),
            ] as const,
        ),
      ),
    );
}

const viewsBatch = batchPerTurn<string, Map<string, ProductDto>>();

/**
 * Storefront views of the products `ids`, in that order, from the product cache (the entries
 * product detail reads by id). The misses of one turn of the event loop load in one query. A
 * product no longer listed since it was found is left out.
 */
async function cachedProductViews(
  ctx: Context,
  inventory: Inventory,
  cache: Cache,
  ids: string[],
): Promise<ProductDto[]> {
  const loadBatch = (batch: string[]) => listedProductViews(ctx, inventory, batch);
  const views = await Promise.all(
    ids.map((id) =>
      cache
        .getOrLoad(productCacheEntity, id, async () => {
          const view = (await viewsBatch(ctx.db, [id], loadBatch)).get(id);
          if (!view) throw new NotListed();
          return view;
        })
        .catch((error: unknown) => {
          if (error instanceof NotListed) return undefined;
          throw error;
        }),
    ),
  );
  return views.filter((view) => view !== undefined);
}

class NotListed extends Error {}

export function cachedCategoryTree(ctx: Context, readCtx: Context): Promise<CategoryNode[]> {
  const cache = cachingOf(ctx, categoryTreeCacheEntity);
  return cache
    ? cache.getOrLoad(categoryTreeCacheEntity, 'all', () => categoryTree(ctx))
    : categoryTree(readCtx);
}

/** The context's cache when it keeps `entity` (a TTL of 0 turns an entity's cache off). */
function cachingOf(ctx: Context, entity: CacheEntity) {
  return ctx.cache && ctx.cache.ttlOf(entity) > 0 ? ctx.cache : undefined;
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
