import { afterCommit, type Context } from '../context.js';
import type { CacheEntity } from './cache.js';

/**
 * Drops cached entries of `entity` (the given ids, or all of an entity-wide one) once the write
 * in `ctx` has committed. Call it in the same function as the write, so no path can change the
 * data without the cache hearing of it.
 */
export async function invalidateAfterCommit(
  ctx: Context,
  entity: CacheEntity,
  ids: string[] = [],
): Promise<void> {
  const cache = ctx.cache;
  if (!cache) return;
  await afterCommit(ctx, () => cache.invalidate(entity, ids));
}
