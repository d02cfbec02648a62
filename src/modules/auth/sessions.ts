import { and, desc, eq, gt, isNull, ne, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import { inTransaction, type Context, type TxContext } from '../../platform/context.js';
import type { Executor, Tx } from '../../platform/db/client.js';
import { prepared } from '../../platform/db/prepared.js';
import { AppError, notFound } from '../../platform/errors.js';
import { permissionsOf } from '../../platform/security/permissions.js';
import { randomToken, sha256 } from '../../platform/security/tokens.js';
import { recordAudit } from '../audit/index.js';
import type { Role } from '../../platform/security/permissions.js';
import { activeRoleOf, findUserById, type User } from '../users/index.js';
import { secondsFromNow } from './db-time.js';
import { signedInUserId } from './policy.js';
import type { SigningKeys } from './keys.js';
import { refreshTokens, sessions } from './schema.js';

/** The OAuth 2.0 token response fields (ARCHITECTURE.md: login and refresh answer with these). */
export interface TokenPair {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
}

export type Session = typeof sessions.$inferSelect;
export type RevokeReason =
  | 'logout'
  | 'logout_all'
  | 'revoked_by_user'
  | 'password_changed'
  | 'password_reset'
  | 'refresh_token_reused'
  | 'deactivated';

const invalidRefreshToken = () =>
  new AppError('AUTH_FAILED', 'The refresh token is invalid, expired or revoked.');

/**
 * Sign-in sessions. Each session is one refresh-token family: every refresh uses up the
 * presented token and issues the next one; presenting a used token again means it was copied,
 * so the whole family is revoked (reuse detection, OAuth 2.0 Security BCP §4.14).
 */
export class Sessions {
  constructor(
    private readonly config: Config,
    private readonly keys: SigningKeys,
  ) {}

  /** Opens a session for a user who just proved who they are, and issues its first tokens. */
  async start(ctx: TxContext, user: User): Promise<TokenPair> {
    const [session] = await ctx.db
      .insert(sessions)
      .values({
        userId: user.id,
        expiresAt: secondsFromNow(this.config.REFRESH_TOKEN_TTL),
        ip: ctx.ip || null,
        userAgent: ctx.userAgent?.slice(0, 512) ?? null,
      })
      .returning({ id: sessions.id });
    return this.issueTokens(ctx.db, user, session!.id);
  }

  /** Exchanges a refresh token for new tokens; the presented one can never be used again. */
  async refresh(ctx: Context, refreshToken: string): Promise<TokenPair> {
    const tokenHash = sha256(refreshToken);
    const rotated = await inTransaction(ctx, async (tx) => {
      // The conditional update is the race guard: of two concurrent refreshes, one wins.
      const [claimed] = await tx.db
        .update(refreshTokens)
        .set({ usedAt: sql`now()` })
        .where(and(eq(refreshTokens.tokenHash, tokenHash), isNull(refreshTokens.usedAt)))
        .returning({ sessionId: refreshTokens.sessionId });
      if (!claimed) return undefined;
      const session = await findLiveSession(tx.db, claimed.sessionId);
      const user = session ? await findUserById(tx, session.userId) : undefined;
      if (!session || user?.status !== 'active') throw invalidRefreshToken();
      await tx.db.update(sessions).set({ lastUsedAt: new Date() }).where(eq(sessions.id, session.id));
      return this.issueTokens(tx.db, user, session.id);
    });
    if (rotated) return rotated;
    await this.revokeFamilyIfReused(ctx, tokenHash);
    throw invalidRefreshToken();
  }

  /** The session's next refresh token and a fresh access token. */
  private async issueTokens(db: Tx, user: User, sessionId: string): Promise<TokenPair> {
    const refreshToken = randomToken(32);
    await db.insert(refreshTokens).values({ tokenHash: sha256(refreshToken), sessionId });
    const roles = [user.role];
    const accessToken = await this.keys.sign(db, {
      subject: user.id,
      roles,
      scope: [...permissionsOf(roles)],
      sessionId,
    });
    return {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: this.keys.expiresIn,
      refresh_token: refreshToken,
    };
  }

  /** A used token came back: someone holds a copy. End the session for both holders. */
  private async revokeFamilyIfReused(ctx: Context, tokenHash: string): Promise<void> {
    await inTransaction(ctx, async (tx) => {
      const [used] = await tx.db
        .select({
          sessionId: refreshTokens.sessionId,
          userId: sessions.userId,
          revokedAt: sessions.revokedAt,
        })
        .from(refreshTokens)
        .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
        .where(eq(refreshTokens.tokenHash, tokenHash))
        .limit(1);
      if (!used || used.revokedAt) return;
      await revokeSession(tx.db, used.sessionId, 'refresh_token_reused');
      // The user is the target: whoever presented the token may be the thief.
      await recordAudit(tx, {
        action: 'auth.refresh_token_reused',
        targetType: 'user',
        targetId: used.userId,
        metadata: { session_id: used.sessionId },
      });
    });
  }
}

/** Neither revoked nor past its absolute lifetime. */
const isLive = () => and(isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`));

const liveSession = prepared((db) =>
  db
    .select()
    .from(sessions)
    .where(and(eq(sessions.id, sql.placeholder('id')), isLive()))
    .limit(1)
    .prepare('live_session'),
);

/** The session if it is neither revoked nor past its absolute lifetime. */
export async function findLiveSession(db: Executor, sessionId: string): Promise<Session | undefined> {
  const [session] = await liveSession(db, { id: sessionId });
  return session;
}

const liveSessionAccess = prepared((db) =>
  db
    .select({ userId: sessions.userId, role: activeRoleOf(sessions.userId) })
    .from(sessions)
    .where(and(eq(sessions.id, sql.placeholder('id')), isLive()))
    .limit(1)
    .prepare('live_session_access'),
);

/**
 * Whom a live session signs in, with their role while the account is active (else null). The
 * session and the account are checked in one statement, since every authenticated request asks.
 */
export async function findSessionAccess(
  db: Executor,
  sessionId: string,
): Promise<{ userId: string; role: Role | null } | undefined> {
  const [access] = await liveSessionAccess(db, { id: sessionId });
  return access;
}

export async function listLiveSessions(db: Executor, userId: string): Promise<Session[]> {
  return db
    .select()
    .from(sessions)
    .where(and(eq(sessions.userId, userId), isLive()))
    .orderBy(desc(sessions.lastUsedAt))
    .limit(100);
}

export async function revokeSession(db: Tx, sessionId: string, reason: RevokeReason): Promise<boolean> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: new Date(), revokedReason: reason })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  return rows.length > 0;
}

/** Ends every session of the user, optionally but one (the caller's own). Returns how many. */
export async function revokeAllSessions(
  db: Tx,
  userId: string,
  reason: RevokeReason,
  exceptSessionId?: string,
): Promise<number> {
  const filters = [eq(sessions.userId, userId), isNull(sessions.revokedAt)];
  if (exceptSessionId) filters.push(ne(sessions.id, exceptSessionId));
  const rows = await db
    .update(sessions)
    .set({ revokedAt: new Date(), revokedReason: reason })
    .where(and(...filters))
    .returning({ id: sessions.id });
  return rows.length;
}

/**
 * The user ends one of their own sessions. Someone else's session id answers exactly like an
 * unknown one (404), so ids cannot be probed.
 */
export async function revokeOwnSession(ctx: Context, userId: string, sessionId: string): Promise<void> {
  await inTransaction(ctx, async (tx) => {
    const [row] = await tx.db
      .update(sessions)
      .set({ revokedAt: new Date(), revokedReason: 'revoked_by_user' })
      .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt)))
      .returning({ id: sessions.id });
    if (!row) throw notFound('Session');
    await recordAudit(tx, { action: 'auth.session_revoked', targetType: 'session', targetId: sessionId });
  });
}

/** Sign-out: ends the session of the access token making the request. */
export async function revokeCurrentSession(ctx: Context): Promise<void> {
  const userId = signedInUserId(ctx);
  const sessionId = ctx.actor?.sessionId;
  if (!sessionId) return;
  await inTransaction(ctx, async (tx) => {
    if (await revokeSession(tx.db, sessionId, 'logout')) {
      await recordAudit(tx, {
        action: 'auth.logged_out',
        targetType: 'session',
        targetId: sessionId,
        metadata: { user_id: userId },
      });
    }
  });
}

/** Sign-out everywhere: every session of the signed-in user, this one included. */
export async function revokeAllSessionsOf(ctx: Context): Promise<void> {
  const userId = signedInUserId(ctx);
  await inTransaction(ctx, async (tx) => {
    const count = await revokeAllSessions(tx.db, userId, 'logout_all');
    await recordAudit(tx, {
      action: 'auth.logged_out_everywhere',
      targetType: 'user',
      targetId: userId,
      metadata: { sessions_revoked: count },
    });
  });
}
