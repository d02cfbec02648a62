import { asc, eq, inArray, sql } from 'drizzle-orm';
import { inTransaction, type Context } from '../../platform/context.js';
import type { Executor } from '../../platform/db/client.js';
import { conflict, notFound, validation } from '../../platform/errors.js';
import { recordAudit } from '../audit/index.js';
import { rowsOf } from '../../platform/db/client.js';
import { violatedUniqueConstraint } from '../../platform/db/errors.js';
import { slugify, uniqueHandles } from './handles.js';
import type { CategoryInput, CategoryNode, UpdateCategoryInput } from './http-schemas.js';
import { definedOnly } from './products.js';
import { catalogChanged } from './invalidation.js';
import { categories } from './schema.js';

type Category = typeof categories.$inferSelect;

const toNode = (c: Category): CategoryNode => ({
  id: c.id,
  parent_id: c.parentId,
  handle: c.handle,
  name: c.name,
  description: c.description,
  position: c.position,
  children: [],
});

/** Every category as a tree: roots with their children nested, siblings by position then name. */
export async function categoryTree(ctx: Context): Promise<CategoryNode[]> {
  const rows = await ctx.db.select().from(categories).orderBy(asc(categories.position), asc(categories.name));
  const nodes = new Map(rows.map((c) => [c.id, toNode(c)]));
  const roots: CategoryNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.parent_id ? nodes.get(node.parent_id) : undefined;
    (parent ? parent.children : roots).push(node);
  }
  return roots;
}

export async function getCategory(ctx: Context, id: string): Promise<CategoryNode> {
  const tree = await categoryTree(ctx);
  const find = (nodes: CategoryNode[]): CategoryNode | undefined => {
    for (const node of nodes) {
      if (node.id === id) return node;
      const below = find(node.children);
      if (below) return below;
    }
    return undefined;
  };
  const node = find(tree);
  if (!node) throw notFound('Category');
  return node;
}

/** Category ids by handle, for imports that name categories by handle. */
export async function categoryIdsByHandle(db: Executor, handles: string[]): Promise<Map<string, string>> {
  if (handles.length === 0) return new Map();
  const rows = await db
    .select({ id: categories.id, handle: categories.handle })
    .from(categories)
    .where(inArray(categories.handle, [...new Set(handles)]));
  return new Map(rows.map((r) => [r.handle, r.id]));
}

async function assertParent(ctx: Context, parentId: string | null | undefined, movingId?: string) {
  if (!parentId) return;
  // The parent and its ancestors, walking up: the moved category must not be among them.
  const result = await ctx.db.execute<{ id: string }>(sql`
    with recursive up(id, parent_id) as (
      select id, parent_id from ${categories} where id = ${parentId}::uuid
      union
      select c.id, c.parent_id from ${categories} c join up on c.id = up.parent_id)
    select id from up`);
  const ids = rowsOf<{ id: string }>(result).map((r) => r.id);
  if (ids.length === 0) throw validation('parent_id', 'no such category');
  if (movingId && ids.includes(movingId))
    throw validation('parent_id', 'a category cannot move below itself or one of its subcategories');
}

function handleConflict(error: unknown): unknown {
  return violatedUniqueConstraint(error) !== undefined
    ? conflict('This handle is already in use.', { field: 'handle' })
    : error;
}

export async function createCategory(ctx: Context, input: CategoryInput): Promise<string> {
  return inTransaction(ctx, async (tx) => {
    await assertParent(tx, input.parent_id);
    const [handle] = input.handle
      ? [input.handle]
      : await uniqueHandles(tx.db, categories, categories.handle, [slugify(input.name)]);
    try {
      const [row] = await tx.db
        .insert(categories)
        .values({
          parentId: input.parent_id,
          handle: handle!,
          name: input.name,
          description: input.description,
          position: input.position,
        })
        .returning({ id: categories.id });
      await catalogChanged(tx);
      await recordAudit(tx, {
        action: 'catalog.category_created',
        targetType: 'category',
        targetId: row!.id,
      });
      return row!.id;
    } catch (error) {
      throw handleConflict(error);
    }
  });
}

export async function updateCategory(ctx: Context, id: string, input: UpdateCategoryInput): Promise<void> {
  await inTransaction(ctx, async (tx) => {
    const [before] = await tx.db.select().from(categories).where(eq(categories.id, id)).limit(1);
    if (!before) throw notFound('Category');
    if (input.parent_id !== undefined) await assertParent(tx, input.parent_id, id);
    try {
      await tx.db
        .update(categories)
        .set({
          ...definedOnly({
            name: input.name,
            handle: input.handle,
            description: input.description,
            position: input.position,
          }),
          ...(input.parent_id !== undefined ? { parentId: input.parent_id } : {}),
          updatedAt: sql`now()`,
        })
        .where(eq(categories.id, id));
    } catch (error) {
      throw handleConflict(error);
    }
    await catalogChanged(tx);
    await recordAudit(tx, { action: 'catalog.category_updated', targetType: 'category', targetId: id });
  });
}

/** Deletes a category without subcategories; its products stay, only the link goes. */
export async function deleteCategory(ctx: Context, id: string): Promise<void> {
  await inTransaction(ctx, async (tx) => {
    const [row] = await tx.db
      .select({ id: categories.id })
      .from(categories)
      .where(eq(categories.id, id))
      .limit(1);
    if (!row) throw notFound('Category');
    const [child] = await tx.db
      .select({ id: categories.id })
      .from(categories)
      .where(eq(categories.parentId, id))
      .limit(1);
    if (child) throw conflict('This category has subcategories; move or delete them first.');
    await tx.db.delete(categories).where(eq(categories.id, id));
    await catalogChanged(tx);
    await recordAudit(tx, { action: 'catalog.category_deleted', targetType: 'category', targetId: id });
  });
}
