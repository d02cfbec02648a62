import { inTransaction, type Context } from '../../platform/context.js';
import { AppError } from '../../platform/errors.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import { verifyAgainstDecoy, verifyPassword } from '../../platform/security/passwords.js';
import { recordAudit } from '../audit/index.js';
import { createUser, findUserByEmail, findUserById, type User } from '../users/index.js';
import { createCredentials, findCredentials, hasTotp } from './credentials.js';
import type { EmailVerification } from './email-verification.js';
import { accountKey, enforceLimit, type LoginLimiter } from './limits.js';
import type { Mfa } from './mfa.js';
import { hashNewPassword } from './passwords.js';
import type { Sessions, TokenPair } from './sessions.js';

export { createLoginLimiter, type LoginLimiter } from './limits.js';

export type SignInResult =
  { kind: 'signed_in'; tokens: TokenPair } | { kind: 'mfa_required'; challengeId: string; expiresIn: number };

/** One message for unknown e-mail, wrong password and inactive account, so none can be told apart. */
const signInFailed = () => new AppError('AUTH_FAILED', 'Invalid e-mail or password.');
const secondFactorFailed = () =>
  new AppError('AUTH_FAILED', 'The code is invalid, or the sign-in expired; sign in again if it persists.');

/** Sign-up and sign-in, with brute-force limits per account and per client IP. */
export class Login {
  constructor(
    private readonly jobs: Jobs,
    private readonly limits: LoginLimiter,
    private readonly sessions: Sessions,
    private readonly mfa: Mfa,
    private readonly verification: EmailVerification,
    private readonly signUps?: { inc(): void },
  ) {}

  /** Creates the account, signs it in and mails a verification link, all in one transaction. */
  async register(
    ctx: Context,
    input: { email: string; password: string; name: string },
  ): Promise<{ user: User; tokens: TokenPair }> {
    // Hashed before the transaction opens: argon2 takes tens of milliseconds and the
    // transaction (PGlite's only connection) should not wait on it.
    const passwordHash = await hashNewPassword(input.password, input, 'password');
    const registered = await inTransaction(ctx, async (tx) => {
      const user = await createUser(tx, { email: input.email, name: input.name });
      await createCredentials(tx.db, user.id, passwordHash);
      await this.verification.send(tx, user);
      await this.jobs.publish(tx.db, 'user.registered', { user_id: user.id, email: user.email }, 'auth');
      await recordAudit(tx, {
        action: 'auth.registered',
        actorId: user.id,
        targetType: 'user',
        targetId: user.id,
      });
      const tokens = await this.sessions.start(tx, user);
      return { user, tokens };
    });
    this.signUps?.inc();
    return registered;
  }

  /**
   * Checks e-mail and password. Every attempt counts against the client IP and the account;
   * success clears the account's count (only once the second factor, if any, is passed too).
   */
  async signIn(ctx: Context, input: { email: string; password: string }): Promise<SignInResult> {
    const key = accountKey(input.email);
    await enforceLimit(this.limits.perIp, ctx.ip);
    await enforceLimit(this.limits.perAccount, key);

    const user = await findUserByEmail(ctx, input.email);
    const stored = user ? await findCredentials(ctx.db, user.id) : undefined;
    // The decoy keeps unknown accounts as slow as known ones.
    const passwordOk = stored
      ? await verifyPassword(stored.passwordHash, input.password)
      : await verifyAgainstDecoy(input.password);
    if (!user || !passwordOk || user.status !== 'active') {
      await this.recordFailure(
        ctx,
        'auth.login_failed',
        user,
        passwordOk ? 'inactive_account' : 'bad_credentials',
      );
      throw signInFailed();
    }

    if (hasTotp(stored)) {
      return inTransaction(ctx, async (tx) => {
        const challenge = await this.mfa.openChallenge(tx.db, user.id);
        await recordAudit(tx, {
          action: 'auth.login_password_accepted',
          actorId: user.id,
          targetType: 'user',
          targetId: user.id,
        });
        return { kind: 'mfa_required', ...challenge };
      });
    }
    const tokens = await this.startSession(ctx, user, {});
    await this.limits.perAccount.delete(key);
    return { kind: 'signed_in', tokens };
  }

  /** The second step: a TOTP or recovery code for a challenge from `signIn`. */
  async completeSecondFactor(ctx: Context, input: { challengeId: string; code: string }): Promise<TokenPair> {
    await enforceLimit(this.limits.perIp, ctx.ip);
    const userId = await this.mfa.countChallengeAttempt(ctx.db, input.challengeId);
    const user = userId ? await findUserById(ctx, userId) : undefined;
    if (user?.status !== 'active') throw secondFactorFailed();

    const tokens = await inTransaction(ctx, async (tx) => {
      const factor = await this.mfa.useSecondFactor(tx.db, user.id, input.code);
      if (!factor || !(await this.mfa.closeChallenge(tx.db, input.challengeId))) return undefined;
      if (factor === 'recovery_code') {
        await recordAudit(tx, {
          action: 'auth.recovery_code_used',
          actorId: user.id,
          targetType: 'user',
          targetId: user.id,
        });
      }
      return this.startSession(tx, user, { mfa: factor });
    });
    if (!tokens) {
      // Wrong codes count against the account too, so new challenges do not buy new guesses.
      await this.limits.perAccount.consume(accountKey(user.email));
      await this.recordFailure(ctx, 'auth.mfa_failed', user, 'bad_code');
      throw secondFactorFailed();
    }
    await this.limits.perAccount.delete(accountKey(user.email));
    return tokens;
  }

  private async startSession(
    ctx: Context,
    user: User,
    metadata: Record<string, unknown>,
  ): Promise<TokenPair> {
    return inTransaction(ctx, async (tx) => {
      const tokens = await this.sessions.start(tx, user);
      await recordAudit(tx, {
        action: 'auth.login_succeeded',
        actorId: user.id,
        targetType: 'user',
        targetId: user.id,
        metadata,
      });
      return tokens;
    });
  }

  /** Written as its own statement, outside any transaction the failure rolls back. */
  private async recordFailure(
    ctx: Context,
    action: string,
    user: User | undefined,
    reason: string,
  ): Promise<void> {
    await recordAudit(ctx, {
      action,
      // The target, not the actor: whoever failed has not proved to be that user.
      ...(user ? { targetType: 'user', targetId: user.id } : {}),
      metadata: { reason },
    });
  }
}
