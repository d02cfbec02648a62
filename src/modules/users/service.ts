import { and, asc, count, desc, eq, ilike, or, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import type { Context, TxContext } from '../../platform/context.js';
import { inTransaction } from '../../platform/context.js';
import { rowsOf, type Tx } from '../../platform/db/client.js';
import { prepared } from '../../platform/db/prepared.js';
import { AppError, notFound } from '../../platform/errors.js';
import type { Role } from '../../platform/security/permissions.js';
import { diffOf, recordAudit } from '../audit/index.js';
import { preferencesChanged, profileChanged } from './cache.js';
import { userPreferences, users } from './schema.js';

export type User = typeof users.$inferSelect;
export type UserStatus = 'active' | 'deactivated' | 'erased';

/**
 * Other modules keep data about users (sessions, orders…). They plug in here, so that erasure,
 * export and deactivation reach every module without this module reading their tables.
 */
export interface UserDataContributor {
  name: string;
  /** The module's data about the user, for `GET /users/me/export`. */
  export(tx: Tx, userId: string): Promise<unknown>;
  /** Remove or anonymise the user's personal data (erasure); `ctx` is the erasure's transaction. */
  erase(tx: Tx, userId: string, ctx: TxContext): Promise<void>;
  /** The account stopped being active (deactivated or erased): end its access. */
  deactivated(tx: Tx, userId: string): Promise<void>;
}

const contributors: UserDataContributor[] = [];

export function registerUserDataContributor(contributor: UserDataContributor): void {
  if (!contributors.some((c) => c.name === contributor.name)) contributors.push(contributor);
}

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

export async function findUserByEmail(ctx: Context, email: string): Promise<User | undefined> {
  const [user] = await ctx.db
    .select()
    .from(users)
    .where(sql`lower(${users.email}) = ${normalizeEmail(email)}`)
    .limit(1);
  return user;
}

const userById = prepared((db) =>
  db
    .select()
    .from(users)
    .where(eq(users.id, sql.placeholder('id')))
    .limit(1)
    .prepare('user_by_id'),
);

/** The user with this id, whatever the account's status. */
export async function findUserById(ctx: Context, id: string): Promise<User | undefined> {
  const [user] = await userById(ctx.db, { id });
  return user;
}

/**
 * SQL scalar "the role of the user in this column, if the account is active" (null otherwise),
 * so that another module's statement can check the account in the same round trip.
 */
export function activeRoleOf(userId: SQLWrapper): SQL<Role | null> {
  return sql<Role | null>`(select ${users.role} from ${users} where ${users.id} = ${userId} and ${users.status} = 'active')`;
}

export async function getUser(ctx: Context, id: string): Promise<User> {
  const user = await findUserById(ctx, id);
  if (!user || user.status === 'erased') throw notFound('User');
  return user;
}

/** Creates a user; `CONFLICT` if the e-mail is taken. Runs in the caller's transaction. */
export async function createUser(
  ctx: TxContext,
  input: { email: string; name: string; role?: Role; emailVerified?: boolean },
): Promise<User> {
  const [user] = await ctx.db
    .insert(users)
    .values({
      email: normalizeEmail(input.email),
      name: input.name.trim(),
      role: input.role ?? 'user',
      emailVerifiedAt: input.emailVerified ? new Date() : null,
    })
    .onConflictDoNothing()
    .returning();
  if (!user)
    throw new AppError('CONFLICT', 'An account with this e-mail already exists.', { field: 'email' });
  return user;
}

export async function markEmailVerified(ctx: TxContext, userId: string): Promise<void> {
  await ctx.db
    .update(users)
    .set({ emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())`, updatedAt: new Date() })
    .where(eq(users.id, userId));
  await profileChanged(ctx, userId);
}

export async function updateProfile(ctx: Context, userId: string, input: { name?: string; email?: string }) {
  return inTransaction(ctx, async (tx) => {
    const before = await getUser(tx, userId);
    const patch: Partial<User> = {};
    if (input.name !== undefined) patch.name = input.name.trim();
    if (input.email !== undefined && normalizeEmail(input.email) !== before.email) {
      patch.email = normalizeEmail(input.email);
      patch.emailVerifiedAt = null;
      const taken = await findUserByEmail(tx, input.email);
      if (taken)
        throw new AppError('CONFLICT', 'An account with this e-mail already exists.', { field: 'email' });
    }
    if (Object.keys(patch).length === 0) return before;
    const [after] = await tx.db
      .update(users)
      .set({ ...patch, updatedAt: new Date() })
      .where(eq(users.id, userId))
      .returning();
    await profileChanged(tx, userId);
    if (patch.email) {
      await recordAudit(tx, {
        action: 'user.email_changed',
        targetType: 'user',
        targetId: userId,
        diff: diffOf(before, { email: patch.email }),
      });
    }
    return after ?? before;
  });
}

/** Changes role and/or status (admin). Deactivation ends every session of the user. */
export async function adminUpdateUser(
  ctx: Context,
  userId: string,
  input: { role?: Role; status?: 'active' | 'deactivated'; name?: string },
) {
  return inTransaction(ctx, async (tx) => {
    const before = await getUser(tx, userId);
    if (
      ctx.actor?.id === userId &&
      ((input.role && input.role !== before.role) || input.status === 'deactivated')
    ) {
      throw new AppError('CONFLICT', 'Admins cannot change their own role or deactivate themselves.');
    }
    const patch = { role: input.role, status: input.status, name: input.name?.trim() };
    const diff = diffOf(before, patch);
    if (Object.keys(diff).length === 0) return before;
    const [after] = await tx.db
      .update(users)
      .set({
        ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)),
        updatedAt: new Date(),
      })
      .where(eq(users.id, userId))
      .returning();
    await profileChanged(tx, userId);
    if (diff.role)
      await recordAudit(tx, {
        action: 'user.role_changed',
        targetType: 'user',
        targetId: userId,
        diff: { role: diff.role },
      });
    if (diff.status) {
      await recordAudit(tx, {
        action: input.status === 'deactivated' ? 'user.deactivated' : 'user.reactivated',
        targetType: 'user',
        targetId: userId,
        diff: { status: diff.status },
      });
      if (input.status === 'deactivated') for (const c of contributors) await c.deactivated(tx.db, userId);
    }
    if (diff.name)
      await recordAudit(tx, {
        action: 'user.updated',
        targetType: 'user',
        targetId: userId,
        diff: { name: diff.name },
      });
    return after ?? before;
  });
}

export const preferenceDefaults = { locale: 'en', timezone: 'UTC', currency: 'USD', marketing_emails: false };
export type Preferences = typeof preferenceDefaults;

export async function getPreferences(ctx: Context, userId: string): Promise<Preferences> {
  const [row] = await ctx.db
    .select()
    .from(userPreferences)
    .where(eq(userPreferences.userId, userId))
    .limit(1);
  return { ...preferenceDefaults, ...(row?.preferences as Partial<Preferences> | undefined) };
}

export async function putPreferences(
  ctx: Context,
  userId: string,
  preferences: Preferences,
): Promise<Preferences> {
  await ctx.db
    .insert(userPreferences)
    .values({ userId, preferences })
    .onConflictDoUpdate({ target: userPreferences.userId, set: { preferences, updatedAt: new Date() } });
  await preferencesChanged(ctx, userId);
  return preferences;
}

/** Everything Bazaar holds about the user, gathered from every module. */
export async function exportUserData(ctx: Context, userId: string) {
  return inTransaction(ctx, async (tx) => {
    const user = await getUser(tx, userId);
    const modules: Record<string, unknown> = {};
    for (const c of contributors) modules[c.name] = await c.export(tx.db, userId);
    await recordAudit(tx, { action: 'user.data_exported', targetType: 'user', targetId: userId });
    return { user, preferences: await getPreferences(tx, userId), ...modules };
  });
}

/**
 * Erasure: the account is anonymised (the row stays so orders and the audit trail keep their
 * references), preferences deleted, and every module erases its personal data.
 */
export async function eraseUser(ctx: Context, userId: string): Promise<void> {
  await inTransaction(ctx, async (tx) => {
    await getUser(tx, userId);
    await tx.db
      .update(users)
      .set({
        email: `erased-${userId}@erased.invalid`,
        name: 'Erased user',
        status: 'erased',
        erasedAt: new Date(),
        emailVerifiedAt: null,
        updatedAt: new Date(),
      })
      .where(eq(users.id, userId));
    await tx.db.delete(userPreferences).where(eq(userPreferences.userId, userId));
    await profileChanged(tx, userId);
    await preferencesChanged(tx, userId);
    for (const c of contributors) {
      await c.deactivated(tx.db, userId);
      await c.erase(tx.db, userId, tx);
    }
    await recordAudit(tx, { action: 'user.erased', targetType: 'user', targetId: userId });
  });
}

export interface UserSearch {
  q?: string;
  role?: Role;
  status?: UserStatus;
  sort: 'created_at' | '-created_at' | 'email' | '-email' | 'name' | '-name';
  page: number;
  perPage: number;
}

export async function searchUsers(ctx: Context, query: UserSearch) {
  const filters: SQL[] = [];
  if (query.q) {
    const pattern = `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    filters.push(or(ilike(users.email, pattern), ilike(users.name, pattern))!);
  }
  if (query.role) filters.push(eq(users.role, query.role));
  if (query.status) filters.push(eq(users.status, query.status));
  const where = filters.length ? and(...filters) : undefined;
  const column = { created_at: users.createdAt, email: users.email, name: users.name }[
    query.sort.replace('-', '') as 'email'
  ];
  const order = query.sort.startsWith('-') ? desc(column) : asc(column);
  const [rows, [total]] = await Promise.all([
    ctx.db
      .select()
      .from(users)
      .where(where)
      .orderBy(order, asc(users.id))
      .limit(query.perPage)
      .offset((query.page - 1) * query.perPage),
    ctx.db.select({ value: count() }).from(users).where(where),
  ]);
  return { rows, total: total?.value ?? 0 };
}

export async function countAdmins(ctx: Context): Promise<number> {
  const [row] = await ctx.db
    .select({ value: count() })
    .from(users)
    .where(and(eq(users.role, 'admin'), eq(users.status, 'active')));
  return row?.value ?? 0;
}

/** Accounts created since each of the given instants (sign-ups), erased ones included. */
export async function countSignups(
  ctx: Context,
  since: { today: Date; month: Date },
): Promise<{ today: number; last30Days: number }> {
  const [row] = rowsOf<{ today: number | string; month: number | string }>(
    await ctx.db.execute(sql`
      select count(*) filter (where ${users.createdAt} >= ${since.today.toISOString()}::timestamptz) as today,
             count(*) as month
      from ${users}
      where ${users.createdAt} >= ${since.month.toISOString()}::timestamptz`),
  );
  return { today: Number(row?.today ?? 0), last30Days: Number(row?.month ?? 0) };
}
