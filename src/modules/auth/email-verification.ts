import type { Config } from '../../config.js';
import { inTransaction, type Context, type TxContext } from '../../platform/context.js';
import { AppError, validation } from '../../platform/errors.js';
import { recordAudit } from '../audit/index.js';
import type { Notifications } from '../notifications/index.js';
import { findUserById, getUser, markEmailVerified, type User } from '../users/index.js';
import { signedInUserId } from './policy.js';
import { issueEmailToken, redeemEmailToken } from './email-tokens.js';
import { accountLink, describeDuration } from './emails.js';
import { accountKey, enforceLimit, type LoginLimiter } from './limits.js';

const invalidVerificationLink = () =>
  validation('token', 'is invalid, expired or already used; ask for a new link');

/** Proves that a user receives mail at their address: a single-use link sent by e-mail. */
export class EmailVerification {
  constructor(
    private readonly config: Config,
    private readonly notifications: Notifications,
    private readonly limits: LoginLimiter,
  ) {}

  /** Mails a verification link, in the caller's transaction (no mail for a rolled-back sign-up). */
  async send(ctx: TxContext, user: User): Promise<void> {
    const ttl = this.config.EMAIL_VERIFICATION_TTL;
    const token = await issueEmailToken(ctx.db, user.id, 'verify_email', ttl);
    const link = accountLink(this.config.publicUrl, 'verify-email', token);
    await this.notifications.sendNotification(ctx, {
      template: 'verify-email',
      to: user.email,
      userId: user.id,
      variables: { name: user.name, link, validity: describeDuration(ttl) },
    });
  }

  /** Sends a new link to the signed-in user; CONFLICT when the address is already verified. */
  async resend(ctx: Context): Promise<void> {
    const user = await getUser(ctx, signedInUserId(ctx));
    if (user.emailVerifiedAt) throw new AppError('CONFLICT', 'The e-mail address is already verified.');
    await enforceLimit(this.limits.mailPerAccount, accountKey(user.email));
    await inTransaction(ctx, (tx) => this.send(tx, user));
  }

  async verify(ctx: Context, token: string): Promise<void> {
    await inTransaction(ctx, async (tx) => {
      const redeemed = await redeemEmailToken(tx.db, token, 'verify_email');
      const user = redeemed ? await findUserById(tx, redeemed.userId) : undefined;
      // A link proves only the address it was mailed to: once the account has changed since
      // (a new e-mail, say), older links no longer verify anything.
      if (!redeemed || user?.status !== 'active' || redeemed.issuedAt < user.updatedAt)
        throw invalidVerificationLink();
      await markEmailVerified(tx, user.id);
      await recordAudit(tx, {
        action: 'auth.email_verified',
        actorId: user.id,
        targetType: 'user',
        targetId: user.id,
      });
    });
  }
}
