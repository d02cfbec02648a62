import type { Actor } from '../../platform/context.js';
import { notFound } from '../../platform/errors.js';

/**
 * Who may read a user record: admins (users:read) any, everyone else only their own. Others'
 * records are answered 404, so ids cannot be probed for existence.
 */
export function assertCanReadUser(actor: Actor, userId: string): void {
  if (actor.permissions.has('users:read')) return;
  if (actor.kind === 'user' && actor.id === userId) return;
  throw notFound('User');
}
