import type { Actor } from '../../platform/context.js';
import { AppError } from '../../platform/errors.js';

/**
 * The auth module's ownership rule: account operations (password, second factor, sessions)
 * always act on the signed-in user's own account, never on an id taken from the request.
 * API clients have no account to manage.
 */
export function signedInUserId(ctx: { actor: Actor | null }): string {
  if (ctx.actor?.kind !== 'user')
    throw new AppError('FORBIDDEN', 'Only a signed-in user can manage an account.');
  return ctx.actor.id;
}
