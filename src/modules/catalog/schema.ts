import { sql } from 'drizzle-orm';
import {
  check,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { timestamptz } from '../../platform/db/columns.js';

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

/** Categories form a tree through parent_id. */
export const categories = pgTable(
  'catalog_categories',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    parentId: uuid('parent_id'),
    handle: text('handle').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    position: integer('position').notNull().default(0),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('catalog_categories_handle_key').on(t.handle),
    index('catalog_categories_parent_idx').on(t.parentId),
  ],
);

export const products = pgTable(
  'catalog_products',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    handle: text('handle').notNull(),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    status: text('status').notNull().default('draft'),
    images: jsonb('images').$type<string[]>().notNull().default([]),
    attributes: jsonb('attributes').$type<Record<string, string | number | boolean>>().notNull().default({}),
    /** Lowest variant price, kept by the service, so price filters and sorts need no join. */
    minPrice: integer('min_price'),
    currency: text('currency'),
    /** Weighted full-text document (title A, attributes B, description C), kept by the service. */
    search: tsvector('search'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('catalog_products_handle_key').on(t.handle),
    index('catalog_products_search_idx').using('gin', t.search),
    index('catalog_products_title_trgm_idx').using('gin', sql`lower(${t.title}) gin_trgm_ops`),
    index('catalog_products_status_created_idx').on(t.status, t.createdAt, t.id),
    index('catalog_products_status_price_idx').on(t.status, t.minPrice, t.id),
    index('catalog_products_attributes_idx').using('gin', t.attributes),
    check('catalog_products_status_check', sql`${t.status} in ('draft', 'active', 'archived')`),
  ],
);

export const productCategories = pgTable(
  'catalog_product_categories',
  {
    productId: uuid('product_id')
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    categoryId: uuid('category_id')
      .notNull()
      .references(() => categories.id, { onDelete: 'cascade' }),
  },
  (t) => [
    primaryKey({ columns: [t.productId, t.categoryId] }),
    index('catalog_product_categories_category_idx').on(t.categoryId),
  ],
);

export const variants = pgTable(
  'catalog_variants',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    productId: uuid('product_id')
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    sku: text('sku').notNull(),
    title: text('title').notNull().default(''),
    options: jsonb('options').$type<Record<string, string>>().notNull().default({}),
    priceAmount: integer('price_amount').notNull(),
    currency: text('currency').notNull(),
    weightGrams: integer('weight_grams'),
    position: integer('position').notNull().default(0),
    archivedAt: timestamptz('archived_at'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('catalog_variants_sku_key').on(t.sku),
    index('catalog_variants_product_idx').on(t.productId, t.position),
    check('catalog_variants_price_check', sql`${t.priceAmount} >= 0`),
    check('catalog_variants_currency_check', sql`${t.currency} ~ '^[A-Z]{3}$'`),
  ],
);
