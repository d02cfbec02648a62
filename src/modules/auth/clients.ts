import { and, count, desc, eq, isNull, sql } from 'drizzle-orm';
import { inTransaction, type Context } from '../../platform/context.js';
import type { Executor } from '../../platform/db/client.js';
import { prepared } from '../../platform/db/prepared.js';
import { AppError, notFound } from '../../platform/errors.js';
import { clientGrantable } from '../../platform/security/permissions.js';
import { randomToken, safeEqual, sha256 } from '../../platform/security/tokens.js';
import { recordAudit } from '../audit/index.js';
import type { SigningKeys } from './keys.js';
import { apiClients } from './schema.js';

export type ApiClient = typeof apiClients.$inferSelect;

export interface ClientToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

/** The outcome of a client_credentials grant; failures carry the RFC 6749 error code. */
export type ClientGrant =
  | { ok: true; token: ClientToken }
  | { ok: false; error: 'invalid_client' | 'invalid_scope'; description: string };

/**
 * OAuth 2.0 confidential clients for machine-to-machine access (client_credentials grant).
 * The secret is shown once at creation; only its SHA-256 is kept (it is 256 random bits, so a
 * slow hash adds nothing).
 */
export class ApiClients {
  constructor(private readonly keys: SigningKeys) {}

  async create(
    ctx: Context,
    input: { name: string; permissions: readonly string[] },
  ): Promise<{ client: ApiClient; secret: string }> {
    const permissions = [...new Set(input.permissions)];
    const refused = permissions.findIndex((p) => !(clientGrantable as readonly string[]).includes(p));
    if (refused >= 0) {
      throw new AppError('VALIDATION_ERROR', 'The request is invalid.', [
        { field: `permissions.${refused}`, message: 'cannot be granted to an API client' },
      ]);
    }
    const secret = randomToken(32);
    return inTransaction(ctx, async (tx) => {
      const [client] = await tx.db
        .insert(apiClients)
        .values({
          clientId: `bzr_${randomToken(15)}`,
          name: input.name.trim(),
          secretHash: sha256(secret),
          permissions,
          createdBy: ctx.actor?.kind === 'user' ? ctx.actor.id : null,
        })
        .returning();
      await recordAudit(tx, {
        action: 'auth.client_created',
        targetType: 'api_client',
        targetId: client!.id,
        metadata: { client_id: client!.clientId, name: client!.name, permissions },
      });
      return { client: client!, secret };
    });
  }

  async list(
    ctx: Context,
    page: { page: number; perPage: number },
  ): Promise<{ rows: ApiClient[]; total: number }> {
    const [rows, [total]] = await Promise.all([
      ctx.db
        .select()
        .from(apiClients)
        .orderBy(desc(apiClients.createdAt), desc(apiClients.id))
        .limit(page.perPage)
        .offset((page.page - 1) * page.perPage),
      ctx.db.select({ value: count() }).from(apiClients),
    ]);
    return { rows, total: total?.value ?? 0 };
  }

  /** Revokes a client: its tokens stop working at once. Revoking twice is harmless. */
  async revoke(ctx: Context, id: string): Promise<void> {
    await inTransaction(ctx, async (tx) => {
      const [existing] = await tx.db.select().from(apiClients).where(eq(apiClients.id, id)).limit(1);
      if (!existing) throw notFound('API client');
      if (existing.revokedAt) return;
      await tx.db.update(apiClients).set({ revokedAt: new Date() }).where(eq(apiClients.id, id));
      await recordAudit(tx, {
        action: 'auth.client_revoked',
        targetType: 'api_client',
        targetId: id,
        metadata: { client_id: existing.clientId },
      });
    });
  }

  /** client_credentials: an access token limited to `scope` (default: all the client's permissions). */
  async grant(
    ctx: Context,
    input: { clientId: string; clientSecret: string; scope?: string },
  ): Promise<ClientGrant> {
    const client = await findActiveClient(ctx.db, input.clientId);
    if (!client || !safeEqual(sha256(input.clientSecret), client.secretHash)) {
      return { ok: false, error: 'invalid_client', description: 'Client authentication failed.' };
    }
    const requested = input.scope?.split(' ').filter(Boolean);
    const scope = requested?.length ? [...new Set(requested)] : client.permissions;
    const outside = scope.filter((p) => !client.permissions.includes(p));
    if (outside.length > 0) {
      return {
        ok: false,
        error: 'invalid_scope',
        description: `The client may not request: ${outside.join(' ')}.`,
      };
    }
    await ctx.db.update(apiClients).set({ lastUsedAt: new Date() }).where(eq(apiClients.id, client.id));
    const accessToken = await this.keys.sign(ctx.db, {
      subject: client.clientId,
      clientId: client.clientId,
      roles: [],
      scope,
    });
    return {
      ok: true,
      token: {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: this.keys.expiresIn,
        scope: scope.join(' '),
      },
    };
  }
}

const activeClient = prepared((db) =>
  db
    .select()
    .from(apiClients)
    .where(and(eq(apiClients.clientId, sql.placeholder('clientId')), isNull(apiClients.revokedAt)))
    .limit(1)
    .prepare('active_client'),
);

/** Every request with a client's token asks (is the client still there?). */
export async function findActiveClient(db: Executor, clientId: string): Promise<ApiClient | undefined> {
  const [client] = await activeClient(db, { clientId });
  return client;
}
