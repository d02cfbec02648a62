import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Executor, Tx } from '../../platform/db/client.js';
import { randomToken, sha256 } from '../../platform/security/tokens.js';
import { secondsFromNow } from './db-time.js';
import { emailTokens } from './schema.js';

export type EmailTokenPurpose = 'verify_email' | 'reset_password';

/**
 * A new single-use link token (256 bits; only its hash is stored). Earlier unused tokens of the
 * same purpose stop working, so only the newest mail's link is valid.
 */
export async function issueEmailToken(
  tx: Tx,
  userId: string,
  purpose: EmailTokenPurpose,
  ttlSeconds: number,
): Promise<string> {
  await invalidateEmailTokens(tx, userId, purpose);
  const token = randomToken(32);
  await tx.insert(emailTokens).values({
    tokenHash: sha256(token),
    userId,
    purpose,
    expiresAt: secondsFromNow(ttlSeconds),
  });
  return token;
}

export interface RedeemedEmailToken {
  userId: string;
  issuedAt: Date;
}

const usable = (token: string, purpose: EmailTokenPurpose) =>
  and(
    eq(emailTokens.tokenHash, sha256(token)),
    eq(emailTokens.purpose, purpose),
    isNull(emailTokens.usedAt),
    gt(emailTokens.expiresAt, sql`now()`),
  );

/** The token's owner if it is still usable, without using it up. */
export async function findRedeemableEmailToken(
  db: Executor,
  token: string,
  purpose: EmailTokenPurpose,
): Promise<RedeemedEmailToken | undefined> {
  const [row] = await db
    .select({ userId: emailTokens.userId, issuedAt: emailTokens.createdAt })
    .from(emailTokens)
    .where(usable(token, purpose))
    .limit(1);
  return row;
}

/**
 * Uses up a token and returns its owner, or undefined when it is unknown, used or expired. One
 * conditional UPDATE, so of two concurrent redemptions only one succeeds.
 */
export async function redeemEmailToken(
  tx: Tx,
  token: string,
  purpose: EmailTokenPurpose,
): Promise<RedeemedEmailToken | undefined> {
  const [row] = await tx
    .update(emailTokens)
    .set({ usedAt: sql`now()` })
    .where(usable(token, purpose))
    .returning({ userId: emailTokens.userId, issuedAt: emailTokens.createdAt });
  return row;
}

export async function invalidateEmailTokens(
  tx: Tx,
  userId: string,
  purpose?: EmailTokenPurpose,
): Promise<void> {
  const filters = [eq(emailTokens.userId, userId), isNull(emailTokens.usedAt)];
  if (purpose) filters.push(eq(emailTokens.purpose, purpose));
  await tx
    .update(emailTokens)
    .set({ usedAt: sql`now()` })
    .where(and(...filters));
}
