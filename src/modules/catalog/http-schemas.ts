import { z } from 'zod';
import { envelope, listEnvelope, paginationQuery } from '../../platform/http/envelope.js';
import { UUID_PATTERN } from '../../platform/ids.js';

// ---- building blocks ----

const timestamp = z.iso.datetime().max(35);
const count = z.int().min(0).max(2_147_483_647);

export const statuses = ['draft', 'active', 'archived'] as const;
export type ProductStatus = (typeof statuses)[number];

export const handleSchema = z
  .string()
  .trim()
  .toLowerCase()
  .min(1)
  .max(100)
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'lowercase letters, digits and single hyphens')
  .refine((h) => !UUID_PATTERN.test(h), 'must not look like a UUID (ids and handles share one URL)')
  .meta({ description: 'URL name: lowercase letters, digits and hyphens.', example: 'oxford-shirt' });

export const skuSchema = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, underscore and hyphen')
  .meta({ description: 'Stock keeping unit, unique across the shop.', example: 'OXF-SHIRT-BLU-M' });

export const currencySchema = z
  .string()
  .regex(/^[A-Z]{3}$/, 'an ISO 4217 code in capitals')
  .length(3)
  .meta({ example: 'USD' });

const amount = z
  .int()
  .min(0)
  .max(100_000_000)
  .meta({ description: 'Minor units (cents): 1999 = 19.99.', example: 1999 });

const queryAmount = z.coerce.number().int().min(0).max(100_000_000);

export const priceSchema = z
  .strictObject({ amount, currency: currencySchema })
  .meta({ id: 'Money', description: 'An amount of money in minor units with its ISO 4217 currency.' });

const attributeName = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[A-Za-z0-9_]+$/, 'letters, digits and underscore');
const attributeValue = z.union([
  z.string().trim().min(1).max(200),
  z.number().min(-1e12).max(1e12),
  z.boolean(),
]);
export const attributesSchema = z
  .record(attributeName, attributeValue)
  .refine((a) => Object.keys(a).length <= 30, 'at most 30 attributes')
  .meta({
    description:
      'Flat facts about the product (string, number or boolean values), filterable with `attr.<name>=`.',
    example: { material: 'cotton', fit: 'slim', organic: true },
  });

const imageUrl = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .meta({ description: 'An http(s) image URL.', example: 'https://cdn.example.com/oxford-shirt.jpg' });

const optionsSchema = z
  .record(z.string().trim().min(1).max(40), z.string().trim().min(1).max(100))
  .refine((o) => Object.keys(o).length <= 3, 'at most 3 options')
  .meta({ description: 'Option values such as size and colour.', example: { size: 'M', color: 'Blue' } });

const quantity = z.int().min(0).max(1_000_000);
const weightGrams = z.int().min(0).max(1_000_000);
const title = z.string().trim().min(1).max(200);
const description = z.string().trim().max(10_000);

// ---- requests ----

export const variantInput = z
  .strictObject({
    sku: skuSchema,
    title: z.string().trim().min(1).max(200).optional().meta({ description: 'Default: the option values.' }),
    options: optionsSchema.default({}),
    price: priceSchema,
    weight_grams: weightGrams.optional(),
    initial_stock: quantity.optional().meta({ description: 'Units on hand at creation (default 0).' }),
  })
  .meta({
    id: 'NewVariant',
    description: 'A variant to create: SKU, price, option values and initial stock.',
  });
export type VariantInput = z.infer<typeof variantInput>;

/** The rules every product's variant list follows: unique SKUs and option sets, one currency. */
function checkVariants(variants: VariantInput[], ctx: z.RefinementCtx) {
  const skus = new Map<string, number>();
  const optionSets = new Map<string, number>();
  variants.forEach((v, i) => {
    const sku = v.sku;
    if (skus.has(sku))
      ctx.addIssue({
        code: 'custom',
        path: ['variants', i, 'sku'],
        message: `repeats variant ${skus.get(sku)}`,
      });
    skus.set(sku, i);
    const key = JSON.stringify(Object.entries(v.options).sort(([a], [b]) => a.localeCompare(b)));
    if (optionSets.has(key))
      ctx.addIssue({
        code: 'custom',
        path: ['variants', i, 'options'],
        message: `repeats the options of variant ${optionSets.get(key)}`,
      });
    optionSets.set(key, i);
    if (v.price.currency !== variants[0]!.price.currency)
      ctx.addIssue({
        code: 'custom',
        path: ['variants', i, 'price', 'currency'],
        message: `all variants of a product use one currency (${variants[0]!.price.currency})`,
      });
  });
}

export const createProductBody = z
  .strictObject({
    title: title.meta({ example: 'Oxford Shirt' }),
    handle: handleSchema.optional().meta({ description: 'Default: made from the title, unique.' }),
    description: description.default(''),
    status: z.enum(statuses).default('draft'),
    category_ids: z.array(z.uuid()).max(20).default([]),
    attributes: attributesSchema.default({}),
    images: z.array(imageUrl).max(20).default([]),
    variants: z.array(variantInput).min(1).max(100),
  })
  .superRefine((p, ctx) => checkVariants(p.variants, ctx))
  .meta({
    id: 'CreateProduct',
    description: 'A product to create, with its variants, categories and images.',
  });
export type CreateProductInput = z.infer<typeof createProductBody>;

export const updateProductBody = z
  .strictObject({
    title: title.optional(),
    handle: handleSchema.optional(),
    description: description.optional(),
    status: z.enum(statuses).optional(),
    category_ids: z.array(z.uuid()).max(20).optional(),
    attributes: attributesSchema.optional(),
    images: z.array(imageUrl).max(20).optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'send at least one field')
  .meta({
    id: 'UpdateProduct',
    description: 'Fields to change; lists and attributes are replaced as a whole.',
  });
export type UpdateProductInput = z.infer<typeof updateProductBody>;

export const updateVariantBody = z
  .strictObject({
    sku: skuSchema.optional(),
    title: z.string().trim().min(1).max(200).optional(),
    options: optionsSchema.optional(),
    price: priceSchema.optional(),
    weight_grams: weightGrams.nullable().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'send at least one field')
  .meta({ id: 'UpdateVariant', description: 'Fields to change. A price change is audited.' });
export type UpdateVariantInput = z.infer<typeof updateVariantBody>;

export const productIdParams = z.strictObject({ id: z.uuid() });
export const productRefParams = z.strictObject({
  id: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9-]+$/)
    .meta({ description: 'The product id or its handle.', example: 'oxford-shirt' }),
});
export const variantParams = z.strictObject({ id: z.uuid(), variant_id: z.uuid() });

export const categoryBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100).meta({ example: 'Shirts' }),
    handle: handleSchema.optional().meta({ description: 'Default: made from the name, unique.' }),
    parent_id: z
      .uuid()
      .nullable()
      .default(null)
      .meta({ description: 'The parent category; null for a root.' }),
    description: z.string().trim().max(1000).nullable().default(null),
    position: z.int().min(0).max(10_000).default(0).meta({ description: 'Order among its siblings.' }),
  })
  .meta({ id: 'CreateCategory', description: 'A category to create; give a parent to nest it.' });
export type CategoryInput = z.infer<typeof categoryBody>;

export const updateCategoryBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100).optional(),
    handle: handleSchema.optional(),
    parent_id: z
      .uuid()
      .nullable()
      .optional()
      .meta({ description: 'Move under another category, or null to the root.' }),
    description: z.string().trim().max(1000).nullable().optional(),
    position: z.int().min(0).max(10_000).optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'send at least one field')
  .meta({ id: 'UpdateCategory', description: 'Category fields to change; omitted fields stay as they are.' });
export type UpdateCategoryInput = z.infer<typeof updateCategoryBody>;
export const categoryIdParams = z.strictObject({ id: z.uuid() });

export const sorts = ['relevance', 'price', '-price', 'newest'] as const;
export type ProductSort = (typeof sorts)[number];

const ATTRIBUTE_FILTER = /^attr\.([A-Za-z0-9_]{1,40})$/;

const searchFields = {
  ...paginationQuery,
  q: z.string().trim().min(1).max(200).optional().meta({
    description: 'Full-text search over title, attributes and description; tolerates a typo per word.',
    example: 'oxford shirt',
  }),
  category: z
    .string()
    .max(100)
    .regex(/^[A-Za-z0-9-]+$/)
    .optional()
    .meta({ description: 'Category id or handle; includes its subcategories.', example: 'shirts' }),
  min_price: queryAmount
    .optional()
    .meta({ description: 'Lowest variant price at least this (minor units).' }),
  max_price: queryAmount.optional().meta({ description: 'Lowest variant price at most this (minor units).' }),
  in_stock: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .meta({
      description: '`true`: only products with a variant available now; `false`: only sold-out ones.',
    }),
  sort: z.enum(sorts).optional().meta({ description: 'Default: `relevance` with `q`, else `newest`.' }),
};

function withAttributeFilters<T extends z.ZodRawShape>(shape: T) {
  return z
    .object(shape)
    .catchall(z.string().trim().min(1).max(200))
    .superRefine((query, ctx) => {
      const names = Object.keys(query).filter((k) => !(k in shape));
      for (const key of names) {
        if (!ATTRIBUTE_FILTER.test(key))
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'unknown parameter (attribute filters are attr.<name>)',
          });
      }
      if (names.length > 10)
        ctx.addIssue({ code: 'custom', path: [], message: 'at most 10 attribute filters' });
    })
    .meta({ description: 'Any number (≤ 10) of `attr.<name>=<value>` filters may be added.' });
}

/** `attr.<name>` parameters of a parsed query, as `{ name: value }`. */
export function attributeFilters(query: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    const name = ATTRIBUTE_FILTER.exec(key)?.[1];
    if (name && typeof value === 'string') out[name] = value;
  }
  return out;
}

export const productSearchQuery = withAttributeFilters({
  ...searchFields,
  cursor: z
    .string()
    .max(500)
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional()
    .meta({ description: 'Opaque keyset cursor from `links.next` (sorts `newest`, `price`, `-price`).' }),
});

export const adminProductSearchQuery = withAttributeFilters({
  ...searchFields,
  status: z.enum(statuses).optional().meta({ description: 'Only products in this status (default: all).' }),
});

// ---- responses ----

const responseHandle = z
  .string()
  .max(100)
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);

const categoryRef = z
  .object({ id: z.uuid(), handle: responseHandle, name: z.string().max(100) })
  .meta({ id: 'CategoryRef', description: 'A category a product belongs to, by id, name and slug.' });

export const variantSchema = z
  .object({
    id: z.uuid(),
    sku: z
      .string()
      .max(64)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
    title: z.string().max(200),
    options: z.record(z.string().max(40), z.string().max(100)),
    price: z.object({ amount, currency: currencySchema }),
    weight_grams: weightGrams.nullable(),
    available: count.meta({ description: 'Units that can be ordered now.' }),
    archived_at: timestamp
      .nullable()
      .optional()
      .meta({ description: 'Admin views only: when it was archived.' }),
  })
  .meta({
    id: 'Variant',
    description: 'One purchasable version of a product (size, colour…) with its SKU, price and stock.',
  });

export const productSchema = z
  .object({
    id: z.uuid(),
    handle: responseHandle,
    title: z.string().max(200),
    description: z.string().max(10_000),
    status: z.enum(statuses),
    images: z
      .array(
        z
          .string()
          .max(2048)
          .regex(/^https?:\/\//),
      )
      .max(20),
    attributes: z.record(z.string().max(40), z.union([z.string().max(200), z.number(), z.boolean()])),
    categories: z.array(categoryRef).max(20),
    variants: z.array(variantSchema).max(100),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({
    id: 'Product',
    description: 'A product with its variants, categories and images, as storefronts see it.',
  });
export type ProductDto = z.infer<typeof productSchema>;

export interface CategoryNode {
  id: string;
  parent_id: string | null;
  handle: string;
  name: string;
  description: string | null;
  position: number;
  children: CategoryNode[];
}

export const categoryNodeSchema: z.ZodType<CategoryNode> = z
  .object({
    id: z.uuid(),
    parent_id: z.uuid().nullable(),
    handle: responseHandle,
    name: z.string().max(100),
    description: z.string().max(1000).nullable(),
    position: z.int().min(0).max(10_000),
    get children() {
      return z.array(categoryNodeSchema).max(1000);
    },
  })
  .meta({ id: 'Category', description: 'A node of the category tree, with its children.' });

export const importReport = z.object({ imported_products: count, imported_variants: count }).meta({
  id: 'ImportResult',
  description: 'The outcome of a catalog import: counts, or a report per rejected row.',
});

export const importJsonBody = z
  .strictObject({
    products: z
      .array(
        z
          .record(z.string().max(100), z.unknown())
          .meta({ description: 'A product in the shape of CreateProduct.' }),
      )
      .min(1)
      .max(5000),
  })
  .meta({
    id: 'ImportProducts',
    description: 'A catalog import as JSON rows, applied all-or-nothing (CSV is accepted as text/csv).',
  });

export const productEnvelope = envelope(productSchema);
export const productList = listEnvelope(productSchema);
export const categoryTree = envelope(z.array(categoryNodeSchema).max(1000));
export const categoryEnvelope = envelope(categoryNodeSchema);
export const importEnvelope = envelope(importReport);
