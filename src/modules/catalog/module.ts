import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Context } from '../../platform/context.js';
import type { Inventory } from '../inventory/index.js';
import { categoryRoutes } from './category-routes.js';
import { importRoutes } from './import-routes.js';
import { productRoutes } from './routes.js';
import { seedDemoCatalog, type SeedResult } from './seed.js';
import { variantsForSale, type VariantForSale } from './variant-lookup.js';

export interface CatalogDeps {
  inventory: Inventory;
}

export interface Catalog {
  /** Storefront and admin routes; register under `/api/v1`. */
  routes: FastifyPluginAsyncZod;
  /**
   * The demo catalog (`bazaar seed`, first start): ≥ 1,000 products, ≥ 3,000 variants with stock,
   * a category tree. Does nothing when any product exists.
   */
  seedDemoCatalog: (ctx: Context, options?: { products?: number }) => Promise<SeedResult>;
  /** Price snapshots and sellability of variants, for orders. */
  variantsForSale: (ctx: Context, variantIds: string[]) => Promise<Map<string, VariantForSale>>;
}

export function createCatalogModule(deps: CatalogDeps): Catalog {
  const { inventory } = deps;
  return {
    routes: async (app) => {
      await app.register(productRoutes(inventory));
      await app.register(categoryRoutes);
      await app.register(importRoutes(inventory));
    },
    seedDemoCatalog: (ctx, options) => seedDemoCatalog(ctx, inventory, options),
    variantsForSale,
  };
}
