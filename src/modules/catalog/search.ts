import { and, asc, desc, gte, inArray, isNotNull, lte, or, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Context } from '../../platform/context.js';
import { validation } from '../../platform/errors.js';
import type { Inventory } from '../inventory/index.js';
import { fuzzyTsquery, oneEditVariants, queryWords, typoCandidates } from './fuzzy.js';
import { rowsOf } from '../../platform/db/client.js';
import { UUID_PATTERN } from '../../platform/ids.js';
import type { ProductSort, ProductStatus } from './http-schemas.js';
import { productColumns, storefrontVariants, type ProductRow } from './product-views.js';
import { categories, productCategories, products, variants } from './schema.js';

export interface ProductSearch {
  q?: string;
  category?: string;
  minPrice?: number;
  maxPrice?: number;
  inStock?: boolean;
  attributes: Record<string, string>;
  sort?: ProductSort;
  page: number;
  perPage: number;
  cursor?: string;
  /** The storefront: active products with a live variant only; keyset cursors allowed. */
  storefront: boolean;
  /** Admin views: which statuses to list (default all). */
  status?: ProductStatus;
}

export interface SearchResult {
  rows: ProductRow[];
  total: number;
  /** The page these rows are (computed from the cursor's position in cursor mode). */
  page: number;
  sort: ProductSort;
  /** A cursor for the rows after these; null on the last page or for `relevance`. */
  nextCursor: string | null;
}

type KeysetSort = Exclude<ProductSort, 'relevance'>;
const cursorSchema = z.strictObject({
  s: z.enum(['newest', 'price', '-price']),
  k: z.union([
    z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/),
    z.int().min(0).max(2_147_483_647),
  ]),
  i: z.string().regex(UUID_PATTERN),
});
type Cursor = z.infer<typeof cursorSchema>;

const encodeCursor = (cursor: Cursor) => Buffer.from(JSON.stringify(cursor)).toString('base64url');

function decodeCursor(text: string, sort: ProductSort): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const cursor = cursorSchema.safeParse(parsed);
  if (!cursor.success) throw validation('cursor', 'is not a cursor of this list; use links.next as given');
  if (cursor.data.s !== sort)
    throw validation('cursor', `was made for sort=${cursor.data.s}; send the same sort or drop the cursor`);
  if ((cursor.data.s === 'newest') !== (typeof cursor.data.k === 'string'))
    throw validation('cursor', 'is not a cursor of this list; use links.next as given');
  return cursor.data;
}

// Timestamps go into cursors with their full microseconds: a JS Date would cut them to
// milliseconds and skip rows created in the same millisecond.
const createdKey = sql<string>`to_char(${products.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')`;

/** Rows strictly after the cursor in the sort order. */
function after(cursor: Cursor): SQL {
  switch (cursor.s) {
    case 'newest':
      return sql`(${products.createdAt}, ${products.id}) < ((${cursor.k}::timestamp at time zone 'UTC'), ${cursor.i}::uuid)`;
    case 'price':
      return sql`(${products.minPrice}, ${products.id}) > (${cursor.k}::int, ${cursor.i}::uuid)`;
    case '-price':
      return sql`(${products.minPrice}, ${products.id}) < (${cursor.k}::int, ${cursor.i}::uuid)`;
  }
}

/** The words of `words` that some product contains (one GIN probe each, one statement). */
async function knownWords(ctx: Context, words: string[]): Promise<Set<string>> {
  if (words.length === 0) return new Set();
  // Words are letters and digits only, so a space-joined list is an unambiguous single parameter.
  // No status filter: the probe then has no plan but the GIN index, with or without statistics.
  const rows = rowsOf<{ word: string }>(
    await ctx.db.execute(sql`
      select w as word from unnest(string_to_array(${words.join(' ')}, ' ')) as w
      where exists (select 1 from ${products} where ${products.search} @@ plainto_tsquery('simple', w))`),
  );
  return new Set(rows.map((r) => r.word));
}

/**
 * What the misspelt words of a query may also be: for each query word no product contains, its
 * one-edit variants that products do contain. A search asks `correctionsFrom` (PostgreSQL) unless
 * its caller remembers the answers (the storefront's read cache, catalog/cache.ts).
 */
export type Corrections = (words: string[]) => Promise<ReadonlyMap<string, string[]>>;

export const correctionsFrom =
  (ctx: Context): Corrections =>
  (words) =>
    corrections(ctx, words);

async function corrections(ctx: Context, words: string[]): Promise<Map<string, string[]>> {
  const candidates = typoCandidates(words);
  const known = await knownWords(ctx, candidates);
  const variantsOf = new Map(
    candidates.filter((w) => !known.has(w)).map((w) => [w, oneEditVariants(w).filter((v) => v !== w)]),
  );
  if (variantsOf.size === 0) return new Map();
  const found = await knownWords(ctx, [...new Set([...variantsOf.values()].flat())]);
  return new Map([...variantsOf].map(([word, variants]) => [word, variants.filter((v) => found.has(v))]));
}

/** `category` (id or handle) and every category below it. */
function inCategoryTree(ref: string): SQL {
  const root = UUID_PATTERN.test(ref) ? sql`id = ${ref}::uuid` : sql`handle = ${ref.toLowerCase()}`;
  return sql`exists (select 1 from ${productCategories}
    where ${productCategories.productId} = ${products.id}
      and ${productCategories.categoryId} in (
        with recursive tree(id) as (
          select id from ${categories} where ${root}
          union
          select c.id from ${categories} c join tree on c.parent_id = tree.id)
        select id from tree))`;
}

/** `attr.size=10` matches the string "10" and the number 10; `true`/`false` also the booleans. */
function hasAttribute(name: string, value: string): SQL {
  const wanted: unknown[] = [value];
  if (/^-?\d+(\.\d+)?$/.test(value)) wanted.push(Number(value));
  if (value === 'true' || value === 'false') wanted.push(value === 'true');
  return or(...wanted.map((v) => sql`${products.attributes} @> ${JSON.stringify({ [name]: v })}::jsonb`))!;
}

/**
 * The product list: full-text search (exact words ranked by `ts_rank`, OR one typo per word, OR a
 * trigram-similar title), filters, sorts, and page or keyset pagination. Returns product rows;
 * storefront rows carry their variants and stock already, so a page is one round trip (the
 * count runs beside it); `productViews` shapes them.
 */
export async function searchProducts(
  ctx: Context,
  inventory: Inventory,
  query: ProductSearch,
): Promise<SearchResult> {
  const { rows, ...result } = await searchPage(ctx, inventory, query, 'rows', correctionsFrom(ctx));
  return { ...result, rows: rows as ProductRow[] };
}

export type SearchIds = Omit<SearchResult, 'rows'> & { ids: string[] };

/**
 * The same search answering only the ids of the page, in order: for callers that take each
 * product's representation from the read cache. PostgreSQL then only finds and ranks.
 */
export async function searchProductIds(
  ctx: Context,
  inventory: Inventory,
  query: ProductSearch,
  correct: Corrections = correctionsFrom(ctx),
): Promise<SearchIds> {
  const { rows, ...result } = await searchPage(ctx, inventory, query, 'ids', correct);
  return { ...result, ids: rows.map((row) => row.id) };
}

async function searchPage(
  ctx: Context,
  inventory: Inventory,
  query: ProductSearch,
  shape: 'rows' | 'ids',
  correct: Corrections,
): Promise<Omit<SearchResult, 'rows'> & { rows: { id: string }[] }> {
  const sort: ProductSort = query.sort ?? (query.q ? 'relevance' : 'newest');
  if (sort === 'relevance' && !query.q) throw validation('sort', 'relevance needs a search query q');
  if (query.cursor && (!query.storefront || sort === 'relevance'))
    throw validation('cursor', 'cursors page the newest, price and -price sorts; use page for relevance');
  const cursor = query.cursor ? decodeCursor(query.cursor, sort) : undefined;

  const filters: SQL[] = [];
  if (query.storefront) filters.push(sql`${products.status} = 'active'`, isNotNull(products.minPrice));
  else if (query.status) filters.push(inArray(products.status, [query.status]));

  let rank: SQL | undefined;
  if (query.q) {
    const exact = sql`websearch_to_tsquery('simple', ${query.q})`;
    const words = queryWords(query.q);
    const fuzzyText = fuzzyTsquery(words, await correct(words));
    const fuzzy = fuzzyText ? sql`to_tsquery('simple', ${fuzzyText})` : undefined;
    const title = sql`lower(${products.title})`;
    // Each way to match probes its own index (full text, trigram) and the union of their ids
    // filters the rest: an OR of the three made PostgreSQL scan every product instead.
    const matching = (condition: SQL) => sql`select ${products.id} from ${products} where ${condition}`;
    // `= any(array(…))` looks the matches up by primary key; `in (…)` made a hash join over a
    // scan of every product.
    filters.push(
      sql`${products.id} = any(array(${matching(sql`${products.search} @@ ${exact}`)}
        union all ${fuzzy ? sql`${matching(sql`${products.search} @@ ${fuzzy}`)} union all ` : sql``}
        ${matching(sql`${title} % lower(${query.q})`)}))`,
    );
    rank = sql`(ts_rank(${products.search}, ${exact}) * 2
      + ${fuzzy ? sql`ts_rank(${products.search}, ${fuzzy})` : sql`0`}
      + similarity(${title}, lower(${query.q})) * 0.5)`;
  }
  if (query.category) filters.push(inCategoryTree(query.category));
  // With q, the price range filters the matches. Written over `min_price + 0`, it cannot drive the
  // plan through the status/price index: a prepared statement's generic plan guesses a range
  // keeps 0.5 % of the rows and would otherwise walk the index past every product in range.
  const price = query.q ? sql`(${products.minPrice} + 0)` : sql`${products.minPrice}`;
  if (query.minPrice !== undefined) filters.push(gte(price, query.minPrice));
  if (query.maxPrice !== undefined) filters.push(lte(price, query.maxPrice));
  if (query.inStock !== undefined) {
    const stocked = sql`exists (select 1 from ${variants}
      where ${variants.productId} = ${products.id} and ${variants.archivedAt} is null
        and ${inventory.inStockCondition(variants.id)})`;
    filters.push(query.inStock ? stocked : sql`not ${stocked}`);
  }
  for (const [name, value] of Object.entries(query.attributes)) filters.push(hasAttribute(name, value));
  const where = and(...filters);

  const order: SQL[] =
    sort === 'relevance'
      ? [desc(rank!), asc(products.id)]
      : sort === 'newest'
        ? [desc(products.createdAt), desc(products.id)]
        : sort === 'price'
          ? [sql`${products.minPrice} asc nulls last`, asc(products.id)]
          : [sql`${products.minPrice} desc nulls last`, desc(products.id)];

  const countOf = async () => {
    const [counts] = await ctx.db
      .select({
        total: sql<number>`count(*)::int`,
        before: cursor ? sql<number>`(count(*) filter (where not ${after(cursor)}))::int` : sql<number>`0`,
      })
      .from(products)
      .where(where);
    return { total: counts?.total ?? 0, before: counts?.before ?? 0 };
  };
  const page = ctx.db
    .select({
      ...(shape === 'ids'
        ? { id: products.id }
        : {
            ...productColumns,
            ...(query.storefront ? { variants: storefrontVariants(inventory) } : {}),
          }),
      createdKey,
      minPrice: products.minPrice,
      // Page mode counts every match in the same scan; keyset pages count apart (the cursor
      // narrows this query, not the total).
      total: cursor ? sql<number>`0` : sql<number>`(count(*) over ())::int`,
    })
    .from(products)
    .where(cursor ? and(where, after(cursor)) : where)
    .orderBy(...order)
    .limit(query.perPage + 1)
    .offset(cursor ? 0 : (query.page - 1) * query.perPage);
  const [found, counted] = cursor ? await Promise.all([page, countOf()]) : [await page, undefined];
  // A page past the last match has no row to carry the total.
  const counts =
    counted ??
    (found[0] ? { total: found[0].total, before: 0 } : query.page > 1 ? await countOf() : undefined);

  const rows = found.slice(0, query.perPage);
  const last = rows.at(-1);
  const nextCursor =
    query.storefront && sort !== 'relevance' && found.length > query.perPage && last
      ? encodeCursor(cursorOf(sort, last))
      : null;
  return {
    rows: rows.map(({ createdKey: _k, minPrice: _p, total: _t, ...row }) => row),
    total: counts?.total ?? 0,
    page: cursor ? Math.floor((counts?.before ?? 0) / query.perPage) + 1 : query.page,
    sort,
    nextCursor,
  };
}

function cursorOf(
  sort: KeysetSort,
  row: { id: string; createdKey: string; minPrice: number | null },
): Cursor {
  return sort === 'newest'
    ? { s: sort, k: row.createdKey, i: row.id }
    : { s: sort, k: row.minPrice ?? 0, i: row.id };
}
