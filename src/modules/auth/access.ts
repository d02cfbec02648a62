import { errors } from 'jose';
import type { Actor } from '../../platform/context.js';
import type { Executor } from '../../platform/db/client.js';
import { AppError } from '../../platform/errors.js';
import type { Authenticator } from '../../platform/http/server.js';
import { permissionsOf, type Permission, type Role } from '../../platform/security/permissions.js';
import { findActiveClient } from './clients.js';
import type { SigningKeys, VerifiedAccessToken } from './keys.js';
import { findSessionAccess } from './sessions.js';

/** RFC 7662-style answer of the introspection endpoint. */
export type Introspection =
  | { active: false }
  | { active: true; sub: string; roles: Role[]; permissions: Permission[]; exp: number; client_id?: string };

const authFailed = () => new AppError('AUTH_FAILED', 'The access token is invalid or expired.');

/**
 * Turns a bearer token into an Actor. A valid signature is not enough: the session must still
 * be live and the user active (or the client unrevoked), so logout, deactivation and
 * revocation take effect on the next request rather than when the token expires. Roles come
 * from the database, not the token, so a role change applies at once too.
 */
export class AccessTokens implements Authenticator {
  constructor(
    private readonly keys: SigningKeys,
    private readonly database: () => Executor,
  ) {}

  async authenticate(token: string): Promise<Actor> {
    return (await this.resolve(token)).actor;
  }

  /** Never throws for a bad token: an unusable token is simply not active. */
  async introspect(token: string): Promise<Introspection> {
    try {
      const { actor, claims } = await this.resolve(token);
      return {
        active: true,
        sub: claims.sub,
        roles: actor.roles as Role[],
        permissions: [...actor.permissions].sort() as Permission[],
        exp: claims.exp,
        ...(claims.client_id ? { client_id: claims.client_id } : {}),
      };
    } catch (error) {
      if (error instanceof AppError && error.code === 'AUTH_FAILED') return { active: false };
      throw error;
    }
  }

  private async resolve(token: string): Promise<{ actor: Actor; claims: VerifiedAccessToken }> {
    const db = this.database();
    const claims = await this.verifySignature(db, token);
    const actor = claims.client_id ? await this.clientActor(db, claims) : await this.userActor(db, claims);
    return { actor, claims };
  }

  private async verifySignature(db: Executor, token: string): Promise<VerifiedAccessToken> {
    try {
      return await this.keys.verify(db, token);
    } catch (error) {
      // Any token problem is a 401; a database failure while looking up keys is not.
      if (error instanceof errors.JOSEError) throw authFailed();
      throw error;
    }
  }

  private async userActor(db: Executor, claims: VerifiedAccessToken): Promise<Actor> {
    if (!claims.sid) throw authFailed();
    // The session and its user's account, in one statement.
    const access = await findSessionAccess(db, claims.sid);
    if (access?.userId !== claims.sub || !access.role) throw authFailed();
    const roles = [access.role];
    return {
      kind: 'user',
      id: access.userId,
      roles,
      permissions: permissionsOf(roles),
      sessionId: claims.sid,
    };
  }

  private async clientActor(db: Executor, claims: VerifiedAccessToken): Promise<Actor> {
    const client = claims.client_id ? await findActiveClient(db, claims.client_id) : undefined;
    if (!client || client.clientId !== claims.sub) throw authFailed();
    // The token's scope, narrowed to what the client may still do.
    const scope = (claims.scope ?? '').split(' ').filter((p) => client.permissions.includes(p));
    return { kind: 'client', id: client.id, roles: [], permissions: new Set(scope) };
  }
}
