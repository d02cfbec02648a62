import { and, count, desc, eq, sql, type SQL } from 'drizzle-orm';
import type { Context } from '../../platform/context.js';
import type { Tx } from '../../platform/db/client.js';
import type { UserDataContributor } from '../users/index.js';
import { notifications } from './schema.js';

export type Notification = typeof notifications.$inferSelect;
export const notificationStatuses = ['queued', 'sent', 'failed', 'suppressed'] as const;
export type NotificationStatus = (typeof notificationStatuses)[number];

export interface NotificationQuery {
  template?: string;
  status?: NotificationStatus;
  /** The address, compared without regard to case. */
  recipient?: string;
  page: number;
  perPage: number;
}

/** The notifications log, newest first. */
export async function listNotifications(ctx: Context, query: NotificationQuery) {
  const filters: SQL[] = [];
  if (query.template) filters.push(eq(notifications.template, query.template));
  if (query.status) filters.push(eq(notifications.status, query.status));
  if (query.recipient)
    filters.push(sql`lower(${notifications.recipient}) = ${query.recipient.trim().toLowerCase()}`);
  const where = filters.length > 0 ? and(...filters) : undefined;
  const [rows, [total]] = await Promise.all([
    ctx.db
      .select()
      .from(notifications)
      .where(where)
      .orderBy(desc(notifications.createdAt), desc(notifications.id))
      .limit(query.perPage)
      .offset((query.page - 1) * query.perPage),
    ctx.db.select({ value: count() }).from(notifications).where(where),
  ]);
  return { rows, total: total?.value ?? 0 };
}

/**
 * The log holds e-mail addresses: a user's export includes their mails; erasure blanks address
 * and subject, and cancels mail still waiting to be sent to it.
 */
export const notificationUserData: UserDataContributor = {
  name: 'notifications',
  async export(tx: Tx, userId: string) {
    const rows = await tx
      .select()
      .from(notifications)
      .where(eq(notifications.userId, userId))
      .orderBy(desc(notifications.createdAt));
    return rows.map((n) => ({
      template: n.template,
      recipient: n.recipient,
      subject: n.subject,
      status: n.status,
      created_at: n.createdAt.toISOString(),
      sent_at: n.sentAt?.toISOString() ?? null,
    }));
  },
  async erase(tx: Tx, userId: string) {
    await tx
      .update(notifications)
      .set({
        recipient: 'erased',
        subject: '(erased)',
        status: sql`case when ${notifications.status} = 'queued' then 'suppressed' else ${notifications.status} end`,
      })
      .where(eq(notifications.userId, userId));
  },
  async deactivated() {
    // Mail already decided (an order's receipt) still matters to a deactivated account.
  },
};
