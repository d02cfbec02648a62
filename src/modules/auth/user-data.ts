import { eq } from 'drizzle-orm';
import type { Tx } from '../../platform/db/client.js';
import type { UserDataContributor } from '../users/index.js';
import { findCredentials, hasTotp } from './credentials.js';
import { invalidateEmailTokens } from './email-tokens.js';
import { credentials, emailTokens, mfaChallenges, sessions } from './schema.js';
import { revokeAllSessions } from './sessions.js';

/** What the auth module holds about a user, for export, erasure and deactivation. */
export const authUserData: UserDataContributor = {
  name: 'auth',

  async export(tx: Tx, userId: string) {
    const rows = await tx.select().from(sessions).where(eq(sessions.userId, userId));
    return {
      mfa_enabled: hasTotp(await findCredentials(tx, userId)),
      // Sessions without any secret: refresh tokens and hashes never leave the server.
      sessions: rows.map((s) => ({
        id: s.id,
        created_at: s.createdAt.toISOString(),
        last_used_at: s.lastUsedAt.toISOString(),
        expires_at: s.expiresAt.toISOString(),
        revoked_at: s.revokedAt?.toISOString() ?? null,
        ip: s.ip,
        user_agent: s.userAgent,
      })),
      api_clients: [],
    };
  },

  async erase(tx: Tx, userId: string) {
    await tx.delete(credentials).where(eq(credentials.userId, userId));
    await tx.delete(emailTokens).where(eq(emailTokens.userId, userId));
    await tx.delete(mfaChallenges).where(eq(mfaChallenges.userId, userId));
    // Refresh tokens go with their sessions (ON DELETE CASCADE).
    await tx.delete(sessions).where(eq(sessions.userId, userId));
  },

  async deactivated(tx: Tx, userId: string) {
    await revokeAllSessions(tx, userId, 'deactivated');
    await invalidateEmailTokens(tx, userId);
    await tx.delete(mfaChallenges).where(eq(mfaChallenges.userId, userId));
  },
};
