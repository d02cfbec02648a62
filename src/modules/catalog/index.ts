/**
 * The catalog module: products with variants, categories, storefront search, admin editing,
 * bulk import and the demo catalog.
 */
export { createCatalogModule, type Catalog, type CatalogDeps } from './module.js';
export type { SeedResult } from './seed.js';
export type { VariantForSale } from './variant-lookup.js';
