import type { CacheEntity } from '../../platform/cache/cache.js';
import { afterCommit, type Context } from '../../platform/context.js';

/**
 * The storefront's reads in the read cache (`CACHE_TTL_CATALOG`): product details, list and
 * search pages, the category tree, and what search corrects each query word to. Only the public
 * representation is cached (active products, live variants, no admin fields); stock is never
 * cached but read live on every request, so sales and stock adjustments need no invalidation and
 * are never shown stale. Every catalog write invalidates them all at once (a product's price or
 * category moves it between pages; its title and description change the catalog's words).
 */
const catalogEntity = (name: string): CacheEntity => ({
  name,
  schema: 1,
  ttlGroup: 'catalog',
  invalidation: 'entity',
});
export const productCacheEntity = catalogEntity('product');
export const productListCacheEntity = catalogEntity('product_list');
export const categoryTreeCacheEntity = catalogEntity('category_tree');
export const searchWordCacheEntity = catalogEntity('search_word');

/** Every catalog write calls this in its transaction. */
export async function catalogChanged(ctx: Context): Promise<void> {
  const cache = ctx.cache;
  if (!cache) return;
  await afterCommit(ctx, () =>
    cache.invalidateEntities([
      productCacheEntity,
      productListCacheEntity,
      categoryTreeCacheEntity,
      searchWordCacheEntity,
    ]),
  );
}
