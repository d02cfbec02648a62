import { eq } from 'drizzle-orm';
import type { Executor, Tx } from '../../platform/db/client.js';
import { credentials } from './schema.js';

/** A user's password hash and second factor, as stored. */
export type Credentials = typeof credentials.$inferSelect;

export async function findCredentials(db: Executor, userId: string): Promise<Credentials | undefined> {
  const [row] = await db.select().from(credentials).where(eq(credentials.userId, userId)).limit(1);
  return row;
}

export async function createCredentials(tx: Tx, userId: string, passwordHash: string): Promise<void> {
  await tx.insert(credentials).values({ userId, passwordHash });
}

export async function setPasswordHash(tx: Tx, userId: string, passwordHash: string): Promise<void> {
  await tx
    .update(credentials)
    .set({ passwordHash, passwordChangedAt: new Date() })
    .where(eq(credentials.userId, userId));
}

export function hasTotp(row: Credentials | undefined): boolean {
  return Boolean(row?.totpEnabledAt && row.totpSecret);
}
