import { and, eq, gt, isNull, lt, or, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import { inTransaction, type Context } from '../../platform/context.js';
import type { Executor, Tx } from '../../platform/db/client.js';
import { AppError, validation } from '../../platform/errors.js';
import { SecretBox } from '../../platform/security/secret-box.js';
import { recordAudit } from '../audit/index.js';
import { getUser } from '../users/index.js';
import { signedInUserId } from './policy.js';
import { findCredentials, hasTotp, type Credentials } from './credentials.js';
import { secondsFromNow } from './db-time.js';
import type { LoginLimiter } from './limits.js';
import { confirmPassword } from './passwords.js';
import { credentials, mfaChallenges } from './schema.js';
import {
  acceptedTotpStep,
  isTotpCode,
  newRecoveryCodes,
  newTotpSecret,
  otpauthUri,
  recoveryCodeHash,
} from './totp.js';

/** Wrong codes allowed per sign-in challenge; then the password must be entered again. */
export const MAX_CHALLENGE_ATTEMPTS = 5;

export type SecondFactor = 'totp' | 'recovery_code';

/**
 * TOTP two-factor authentication: enrolment (secret sealed at rest), confirmation with a first
 * code, recovery codes, disabling, and the second step of a sign-in.
 */
export class Mfa {
  private readonly box: SecretBox;

  constructor(
    private readonly config: Config,
    private readonly limits: LoginLimiter,
  ) {
    this.box = new SecretBox(config.KEY_ENCRYPTION_KEY);
  }

  async isEnabled(db: Executor, userId: string): Promise<boolean> {
    return hasTotp(await findCredentials(db, userId));
  }

  /** Starts (or restarts) enrolment: a new secret, active only once a code confirms it. */
  async enroll(ctx: Context): Promise<{ secret: string; otpauthUri: string }> {
    const user = await getUser(ctx, signedInUserId(ctx));
    const stored = await findCredentials(ctx.db, user.id);
    if (hasTotp(stored))
      throw new AppError('CONFLICT', 'Two-factor authentication is already enabled; disable it first.');
    const secret = newTotpSecret();
    await ctx.db
      .update(credentials)
      .set({ totpSecret: this.box.seal(secret), totpEnabledAt: null, totpLastStep: null })
      .where(eq(credentials.userId, user.id));
    return { secret, otpauthUri: otpauthUri(user.email, secret) };
  }

  /** The first valid code switches TOTP on; the recovery codes are shown this once. */
  async confirm(ctx: Context, code: string): Promise<string[]> {
    const userId = signedInUserId(ctx);
    const stored = await findCredentials(ctx.db, userId);
    if (!stored?.totpSecret || stored.totpEnabledAt)
      throw new AppError('CONFLICT', 'There is no pending two-factor enrolment; enrol first.');
    const step = acceptedTotpStep(this.box.open(stored.totpSecret), code, stored.totpLastStep);
    if (step === null) throw validation('code', 'is not the current code of your authenticator app');
    const { codes, hashes } = newRecoveryCodes();
    await inTransaction(ctx, async (tx) => {
      const enabled = await tx.db
        .update(credentials)
        .set({ totpEnabledAt: new Date(), totpLastStep: step, recoveryCodes: hashes })
        .where(
          and(
            eq(credentials.userId, userId),
            isNull(credentials.totpEnabledAt),
            eq(credentials.totpSecret, stored.totpSecret!),
          ),
        )
        .returning({ userId: credentials.userId });
      if (enabled.length === 0)
        throw new AppError('CONFLICT', 'The enrolment changed meanwhile; enrol again.');
      await recordAudit(tx, {
        action: 'auth.mfa_enabled',
        targetType: 'user',
        targetId: userId,
        metadata: { method: 'totp' },
      });
    });
    return codes;
  }

  /** Switches TOTP off after the password (and, when given, a valid code). */
  async disable(ctx: Context, input: { password: string; code?: string }): Promise<void> {
    const { user, stored } = await this.confirmedOwner(ctx, input.password);
    if (!stored?.totpSecret) throw new AppError('CONFLICT', 'Two-factor authentication is not enabled.');
    await inTransaction(ctx, async (tx) => {
      if (
        input.code !== undefined &&
        hasTotp(stored) &&
        !(await this.useSecondFactor(tx.db, user.id, input.code))
      ) {
        throw validation('code', 'is invalid');
      }
      await tx.db
        .update(credentials)
        .set({ totpSecret: null, totpEnabledAt: null, totpLastStep: null, recoveryCodes: [] })
        .where(eq(credentials.userId, user.id));
      await recordAudit(tx, {
        action: 'auth.mfa_disabled',
        targetType: 'user',
        targetId: user.id,
        metadata: { method: 'totp' },
      });
    });
  }

  /** Replaces every recovery code with ten new ones. */
  async regenerateRecoveryCodes(ctx: Context, password: string): Promise<string[]> {
    const { user, stored } = await this.confirmedOwner(ctx, password);
    if (!hasTotp(stored)) throw new AppError('CONFLICT', 'Two-factor authentication is not enabled.');
    const { codes, hashes } = newRecoveryCodes();
    await inTransaction(ctx, async (tx) => {
      await tx.db.update(credentials).set({ recoveryCodes: hashes }).where(eq(credentials.userId, user.id));
      await recordAudit(tx, {
        action: 'auth.mfa_recovery_codes_regenerated',
        targetType: 'user',
        targetId: user.id,
      });
    });
    return codes;
  }

  /**
   * Accepts a TOTP code or a recovery code, each at most once: the TOTP step must be newer than
   * the last accepted one and a recovery code is removed as it is used. Both are conditional
   * updates, so two concurrent requests cannot use the same code.
   */
  async useSecondFactor(tx: Tx, userId: string, code: string): Promise<SecondFactor | null> {
    const stored = await findCredentials(tx, userId);
    if (!stored || !hasTotp(stored)) return null;
    return isTotpCode(code) ? this.useTotp(tx, stored, code) : this.useRecoveryCode(tx, userId, code);
  }

  private async useTotp(tx: Tx, stored: Credentials, code: string): Promise<SecondFactor | null> {
    const step = acceptedTotpStep(this.box.open(stored.totpSecret!), code, stored.totpLastStep);
    if (step === null) return null;
    const rows = await tx
      .update(credentials)
      .set({ totpLastStep: step })
      .where(
        and(
          eq(credentials.userId, stored.userId),
          or(isNull(credentials.totpLastStep), lt(credentials.totpLastStep, step)),
        ),
      )
      .returning({ userId: credentials.userId });
    return rows.length > 0 ? 'totp' : null;
  }

  private async useRecoveryCode(tx: Tx, userId: string, code: string): Promise<SecondFactor | null> {
    const hash = recoveryCodeHash(code);
    const rows = await tx
      .update(credentials)
      .set({ recoveryCodes: sql`${credentials.recoveryCodes} - ${hash}::text` })
      .where(
        and(
          eq(credentials.userId, userId),
          sql`${credentials.recoveryCodes} @> ${JSON.stringify([hash])}::jsonb`,
        ),
      )
      .returning({ userId: credentials.userId });
    return rows.length > 0 ? 'recovery_code' : null;
  }

  /** The second step of a sign-in whose password was right. */
  async openChallenge(tx: Tx, userId: string): Promise<{ challengeId: string; expiresIn: number }> {
    const [challenge] = await tx
      .insert(mfaChallenges)
      .values({ userId, expiresAt: secondsFromNow(this.config.MFA_CHALLENGE_TTL) })
      .returning({ id: mfaChallenges.id });
    return { challengeId: challenge!.id, expiresIn: this.config.MFA_CHALLENGE_TTL };
  }

  /**
   * Counts an attempt against a live challenge and returns its user, or undefined when the
   * challenge is unknown, used, expired or out of attempts. Runs as its own statement so the
   * count survives a wrong code.
   */
  async countChallengeAttempt(db: Executor, challengeId: string): Promise<string | undefined> {
    const [row] = await db
      .update(mfaChallenges)
      .set({ attempts: sql`${mfaChallenges.attempts} + 1` })
      .where(
        and(
          eq(mfaChallenges.id, challengeId),
          isNull(mfaChallenges.usedAt),
          gt(mfaChallenges.expiresAt, sql`now()`),
          lt(mfaChallenges.attempts, MAX_CHALLENGE_ATTEMPTS),
        ),
      )
      .returning({ userId: mfaChallenges.userId });
    return row?.userId;
  }

  /** Marks the challenge used; false if a concurrent request already did. */
  async closeChallenge(tx: Tx, challengeId: string): Promise<boolean> {
    const rows = await tx
      .update(mfaChallenges)
      .set({ usedAt: sql`now()` })
      .where(and(eq(mfaChallenges.id, challengeId), isNull(mfaChallenges.usedAt)))
      .returning({ id: mfaChallenges.id });
    return rows.length > 0;
  }

  private async confirmedOwner(ctx: Context, password: string) {
    const user = await getUser(ctx, signedInUserId(ctx));
    const stored = await findCredentials(ctx.db, user.id);
    await confirmPassword(this.limits, user, stored, password, 'password');
    return { user, stored };
  }
}
