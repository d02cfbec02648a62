import { eq } from 'drizzle-orm';
import type { Config } from '../../config.js';
import { inTransaction, type Context } from '../../platform/context.js';
import type { Tx } from '../../platform/db/client.js';
import { validation } from '../../platform/errors.js';
import { hashPassword, verifyPassword } from '../../platform/security/passwords.js';
import { recordAudit } from '../audit/index.js';
import type { Notifications } from '../notifications/index.js';
import { findUserByEmail, findUserById, getUser, markEmailVerified, type User } from '../users/index.js';
import { signedInUserId } from './policy.js';
import { findCredentials, setPasswordHash, type Credentials } from './credentials.js';
import {
  findRedeemableEmailToken,
  invalidateEmailTokens,
  issueEmailToken,
  redeemEmailToken,
} from './email-tokens.js';
import { accountLink, describeDuration } from './emails.js';
import { accountKey, enforceLimit, type LoginLimiter } from './limits.js';
import { passwordProblem } from './password-policy.js';
import { mfaChallenges } from './schema.js';
import { revokeAllSessions } from './sessions.js';

/** Checks the policy for a new password and hashes it; VALIDATION_ERROR on `field` otherwise. */
export async function hashNewPassword(
  password: string,
  owner: { email: string; name: string },
  field: string,
): Promise<string> {
  const problem = passwordProblem(password, owner);
  if (problem) throw validation(field, problem);
  return hashPassword(password);
}

/**
 * Re-confirms the password before a sensitive change (password, second factor). Wrong guesses
 * count against the same per-account limit as sign-ins, so a stolen access token cannot be
 * used to brute-force the password.
 */
export async function confirmPassword(
  limits: LoginLimiter,
  user: User,
  stored: Credentials | undefined,
  password: string,
  field: string,
): Promise<void> {
  const key = accountKey(user.email);
  await enforceLimit(limits.perAccount, key);
  if (!stored || !(await verifyPassword(stored.passwordHash, password))) {
    throw validation(field, 'is incorrect');
  }
  await limits.perAccount.reward(key);
}

const invalidResetLink = () => validation('token', 'is invalid, expired or already used; ask for a new link');

/** Password change (signed in), and the forgot/reset flow by e-mail link. */
export class Passwords {
  constructor(
    private readonly config: Config,
    private readonly notifications: Notifications,
    private readonly limits: LoginLimiter,
  ) {}

  /** Changes the password and signs out every other session; the current one stays. */
  async change(ctx: Context, input: { currentPassword: string; newPassword: string }): Promise<void> {
    const user = await getUser(ctx, signedInUserId(ctx));
    const stored = await findCredentials(ctx.db, user.id);
    await confirmPassword(this.limits, user, stored, input.currentPassword, 'current_password');
    if (await verifyPassword(stored!.passwordHash, input.newPassword)) {
      throw validation('new_password', 'must differ from the current password');
    }
    const passwordHash = await hashNewPassword(input.newPassword, user, 'new_password');
    await inTransaction(ctx, async (tx) => {
      await setPasswordHash(tx.db, user.id, passwordHash);
      await invalidateEmailTokens(tx.db, user.id, 'reset_password');
      const signedOut = await revokeAllSessions(tx.db, user.id, 'password_changed', ctx.actor?.sessionId);
      await recordAudit(tx, {
        action: 'auth.password_changed',
        targetType: 'user',
        targetId: user.id,
        metadata: { sessions_revoked: signedOut },
      });
    });
  }

  /**
   * Mails a reset link when an active account has this e-mail. The caller answers the same
   * whatever happens here, so the endpoint does not reveal which addresses have accounts; the
   * per-address limit silently stops mail-bombing a mailbox.
   */
  async forgot(ctx: Context, email: string): Promise<void> {
    await enforceLimit(this.limits.mailPerIp, ctx.ip);
    if (!(await this.limits.mailPerAccount.consume(accountKey(email))).allowed) return;
    const user = await findUserByEmail(ctx, email);
    if (user?.status !== 'active') return;
    await inTransaction(ctx, async (tx) => {
      const token = await issueEmailToken(tx.db, user.id, 'reset_password', this.config.PASSWORD_RESET_TTL);
      const link = accountLink(this.config.publicUrl, 'reset-password', token);
      await this.notifications.sendNotification(tx, {
        template: 'password-reset',
        to: user.email,
        userId: user.id,
        variables: { name: user.name, link, validity: describeDuration(this.config.PASSWORD_RESET_TTL) },
      });
      await recordAudit(tx, {
        action: 'auth.password_reset_requested',
        actorId: user.id,
        targetType: 'user',
        targetId: user.id,
      });
    });
  }

  /**
   * Sets a new password from a reset link and ends every session. It never signs the user in,
   * so a reset cannot skip the second factor: the next sign-in still asks for it.
   */
  async reset(ctx: Context, input: { token: string; newPassword: string }): Promise<void> {
    // Checked before redeeming, so a refused new password leaves the link usable; the
    // argon2 hash is computed outside the transaction, which must stay short.
    const pending = await findRedeemableEmailToken(ctx.db, input.token, 'reset_password');
    const user = pending ? await findUserById(ctx, pending.userId) : undefined;
    if (user?.status !== 'active') throw invalidResetLink();
    const passwordHash = await hashNewPassword(input.newPassword, user, 'new_password');
    await inTransaction(ctx, async (tx) => {
      const redeemed = await redeemEmailToken(tx.db, input.token, 'reset_password');
      if (redeemed?.userId !== user.id) throw invalidResetLink();
      await setPasswordHash(tx.db, user.id, passwordHash);
      await invalidateEmailTokens(tx.db, user.id, 'reset_password');
      await endPendingSignIns(tx.db, user.id);
      // Opening the link proved control of the mailbox.
      await markEmailVerified(tx, user.id);
      const signedOut = await revokeAllSessions(tx.db, user.id, 'password_reset');
      await recordAudit(tx, {
        action: 'auth.password_reset',
        actorId: user.id,
        targetType: 'user',
        targetId: user.id,
        metadata: { sessions_revoked: signedOut },
      });
    });
    // A locked-out owner who just proved control of the mailbox may sign in again.
    await this.limits.perAccount.delete(accountKey(user.email));
  }
}

/** Challenges opened with the old password must not outlive it. */
async function endPendingSignIns(tx: Tx, userId: string): Promise<void> {
  await tx.delete(mfaChallenges).where(eq(mfaChallenges.userId, userId));
}
