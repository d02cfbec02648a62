import type { CacheEntity } from '../../platform/cache/cache.js';
import { invalidateAfterCommit } from '../../platform/cache/invalidate.js';
import type { Context } from '../../platform/context.js';
import { toUserDto, type UserDto } from './http-schemas.js';
import { getPreferences, getUser, type Preferences } from './service.js';

/** Profiles and preferences in the read cache (`CACHE_TTL_USER`), one entry per user. */
export const profileCacheEntity: CacheEntity = {
  name: 'user',
  schema: 1,
  ttlGroup: 'user',
  invalidation: 'key',
};
export const preferencesCacheEntity: CacheEntity = {
  name: 'preferences',
  schema: 1,
  ttlGroup: 'user',
  invalidation: 'key',
};

/** The profile as `GET /users/me` shows it; callers decide first whether the actor may see it. */
export function cachedProfile(ctx: Context, userId: string): Promise<UserDto> {
  const load = async () => toUserDto(await getUser(ctx, userId));
  return ctx.cache ? ctx.cache.getOrLoad(profileCacheEntity, userId, load) : load();
}

export function cachedPreferences(ctx: Context, userId: string): Promise<Preferences> {
  const load = () => getPreferences(ctx, userId);
  return ctx.cache ? ctx.cache.getOrLoad(preferencesCacheEntity, userId, load) : load();
}

/** Every write to a user row calls this in its transaction. */
export function profileChanged(ctx: Context, userId: string): Promise<void> {
  return invalidateAfterCommit(ctx, profileCacheEntity, [userId]);
}

export function preferencesChanged(ctx: Context, userId: string): Promise<void> {
  return invalidateAfterCommit(ctx, preferencesCacheEntity, [userId]);
}
