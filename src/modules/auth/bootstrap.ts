import { inTransaction, type Context } from '../../platform/context.js';
import { AppError } from '../../platform/errors.js';
import { hashPassword } from '../../platform/security/passwords.js';
import { randomToken } from '../../platform/security/tokens.js';
import { recordAudit } from '../audit/index.js';
import { createUser, findUserByEmail } from '../users/index.js';
import { createCredentials } from './credentials.js';
import { passwordProblem } from './password-policy.js';

export interface AdminBootstrap {
  created: boolean;
  email: string;
  /** Only when this call created the account with a generated password, to be shown once. */
  password?: string;
}

/**
 * The first-start admin: created (verified, role admin) unless an account with this e-mail
 * exists. Without a given password a random one is generated (24 URL-safe characters, 144 bits).
 */
export async function createAdminIfMissing(
  ctx: Context,
  email: string,
  password: string | undefined,
): Promise<AdminBootstrap> {
  if (await findUserByEmail(ctx, email)) return { created: false, email };
  const chosen = password ?? randomToken(18);
  const problem = passwordProblem(chosen, { email });
  if (problem)
    throw new AppError('VALIDATION_ERROR', `BAZAAR_ADMIN_PASSWORD ${problem}.`, [
      { field: 'BAZAAR_ADMIN_PASSWORD', message: problem },
    ]);
  const passwordHash = await hashPassword(chosen);
  try {
    const user = await inTransaction(ctx, async (tx) => {
      const admin = await createUser(tx, {
        email,
        name: 'Administrator',
        role: 'admin',
        emailVerified: true,
      });
      await createCredentials(tx.db, admin.id, passwordHash);
      await recordAudit(tx, { action: 'auth.admin_created', targetType: 'user', targetId: admin.id });
      return admin;
    });
    return { created: true, email: user.email, ...(password === undefined ? { password: chosen } : {}) };
  } catch (error) {
    // Another process starting at the same moment created it first.
    if (error instanceof AppError && error.code === 'CONFLICT') return { created: false, email };
    throw error;
  }
}
