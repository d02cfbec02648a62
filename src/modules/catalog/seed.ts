import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { inTransaction, type Context } from '../../platform/context.js';
import { recordAudit } from '../audit/index.js';
import type { Inventory } from '../inventory/index.js';
import { slugify } from './handles.js';
import type { ProductStatus } from './http-schemas.js';
import { insertProducts, tidyAfterBulkLoad, type ProductDraft } from './product-writer.js';
import { categories, products } from './schema.js';
import {
  adjectives,
  brands,
  categorySeeds,
  closings,
  openings,
  type CategorySeed,
  type LeafSeed,
} from './seed-data.js';

export interface SeedResult {
  created: boolean;
  products: number;
  variants: number;
  categories: number;
  ms: number;
}

/** mulberry32: a small seeded PRNG, so the demo catalog is the same on every machine. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(list: T[]): T => list[Math.floor(next() * list.length)]!;
  const sample = <T>(list: T[], count: number): T[] => {
    const copy = [...list];
    for (let i = copy.length - 1; i > 0; i -= 1) {
      const j = Math.floor(next() * (i + 1));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy.slice(0, count);
  };
  return { next, n, pick, sample };
}

interface Leaf {
  id: string;
  seed: LeafSeed;
}

/** The demo tree as rows to insert; a category whose handle exists already is reused, not repeated. */
function flattenCategories(seeds: CategorySeed[], existing: Map<string, string>) {
  const rows: { id: string; parentId: string | null; handle: string; name: string; position: number }[] = [];
  const leaves: Leaf[] = [];
  const walk = (list: CategorySeed[], parentId: string | null) =>
    list.forEach((c, position) => {
      let id = existing.get(c.handle);
      if (!id) {
        id = randomUUID();
        rows.push({ id, parentId, handle: c.handle, name: c.name, position });
      }
      if (c.leaf) leaves.push({ id, seed: c.leaf });
      if (c.children) walk(c.children, id);
    });
  walk(seeds, null);
  return { rows, leaves };
}

/** Prices end in .99, or sometimes .00, like a real shop's; amounts are in cents. */
const price = (dollars: number, round: boolean) => (round ? dollars * 100 : dollars * 100 - 1);

/**
 * The demo catalog: a category tree and `count` products (about three variants each) with
 * believable titles, descriptions, attributes, prices and stock (some sold out, some low, a few
 * drafts and archived). Deterministic, batched, one transaction; does nothing when any product
 * exists, so it is safe on every start.
 */
export async function seedDemoCatalog(
  ctx: Context,
  inventory: Inventory,
  options: { products?: number } = {},
): Promise<SeedResult> {
  const started = performance.now();
  const count = options.products ?? 1200;
  return inTransaction(ctx, async (tx) => {
    // Two processes starting at once: the second waits, then sees the first one's products.
    await tx.db.execute(sql`select pg_advisory_xact_lock(hashtext('bazaar.catalog.seed'))`);
    const [existing] = await tx.db.select({ id: products.id }).from(products).limit(1);
    if (existing) return { created: false, products: 0, variants: 0, categories: 0, ms: 0 };

    const existingCategories = await tx.db
      .select({ id: categories.id, handle: categories.handle })
      .from(categories);
    const { rows: newCategories, leaves } = flattenCategories(
      categorySeeds,
      new Map(existingCategories.map((c) => [c.handle, c.id])),
    );
    if (newCategories.length > 0) await tx.db.insert(categories).values(newCategories);

    const drafts = demoProducts(count, leaves);
    await insertProducts(tx, inventory, drafts);
    await tidyAfterBulkLoad(tx);
    const variants = drafts.reduce((n, d) => n + d.variants.length, 0);
    await recordAudit(tx, {
      action: 'catalog.demo_seeded',
      metadata: { products: drafts.length, variants, categories: newCategories.length },
    });
    return {
      created: true,
      products: drafts.length,
      variants,
      categories: newCategories.length,
      ms: Math.round(performance.now() - started),
    };
  });
}

function demoProducts(count: number, leaves: Leaf[]): ProductDraft[] {
  if (leaves.length === 0) return [];
  const random = prng(20240601);
  const handles = new Set<string>();
  const now = Date.now();
  const drafts: ProductDraft[] = [];
  for (let i = 0; i < count; i += 1) {
    const leaf = leaves[i % leaves.length]!;
    const s = leaf.seed;
    const adjective = random.pick(adjectives);
    const material = random.pick(s.materials);
    const noun = random.pick(s.nouns);
    const brand = random.pick(brands);
    const title = `${adjective} ${material} ${noun}`;
    let handle = slugify(title);
    for (let n = 2; handles.has(handle); n += 1) handle = `${slugify(title)}-${n}`;
    handles.add(handle);

    const [feature, other] = random.sample(s.features, 2);
    const fill = (t: string) =>
      t
        .replaceAll('{adjective}', adjective.toLowerCase())
        .replaceAll('{noun}', noun.toLowerCase())
        .replaceAll('{material}', material.toLowerCase())
        .replaceAll('{brand}', brand)
        .replaceAll('{feature}', feature ?? '');
    const description = [
      fill(random.pick(openings)),
      `It is ${feature ?? 'made to last'}${other ? `, and ${other}` : ''}.`,
      random.pick(closings),
    ].join(' ');

    const status: ProductStatus = i % 41 === 7 ? 'draft' : i % 59 === 11 ? 'archived' : 'active';
    const base = random.n(s.price[0], s.price[1]);
    const roundPrices = random.next() < 0.2;
    const second = s.second ? random.pick(s.second.values) : undefined;
    const variantCount = random.next() < 0.25 ? 4 : 3;
    const start = random.n(0, Math.max(0, s.axis.values.length - variantCount));
    const axisValues = s.axis.values.slice(start, start + variantCount);
    const code = `${s.code}-${String(i + 1).padStart(5, '0')}`;
    const createdAt = new Date(now - Math.floor(random.next() * 90 * 24 * 3600 * 1000));

    drafts.push({
      id: randomUUID(),
      handle,
      title,
      description,
      status,
      images: [1, 2].map((n) => `https://picsum.photos/seed/${handle}-${n}/800/800`),
      attributes: {
        brand,
        material: material.toLowerCase(),
        ...(s.extra ? s.extra(random.pick, random.n) : {}),
      },
      categoryIds: [leaf.id],
      createdAt,
      variants: axisValues.map((value, position) => {
        const options: Record<string, string> = { [s.axis.name]: value };
        if (s.second && second) options[s.second.name] = second;
        const roll = random.next();
        // About one in ten sold out, one in ten running low, the rest comfortably stocked.
        const stock = roll < 0.1 ? 0 : roll < 0.2 ? random.n(1, 4) : random.n(5, 200);
        return {
          id: randomUUID(),
          sku: `${code}-${slugify(value).toUpperCase()}${second ? `-${slugify(second).slice(0, 3).toUpperCase()}` : ''}`,
          title: Object.values(options).join(' / '),
          options,
          // Larger sizes cost a little more, as they often do.
          priceAmount: price(base + (s.axis.name === 'size' ? position * 2 : 0), roundPrices),
          currency: 'USD',
          weightGrams: random.n(s.weight[0], s.weight[1]),
          position,
          initialStock: stock,
        };
      }),
    });
  }
  return drafts;
}
