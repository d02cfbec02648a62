import { sql } from 'drizzle-orm';
import { check, index, integer, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { timestamptz } from '../../platform/db/columns.js';

/** Every e-mail Bazaar decided to send, with its delivery outcome. */
export const notifications = pgTable(
  'notifications',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id'),
    recipient: text('recipient').notNull(),
    template: text('template').notNull(),
    subject: text('subject').notNull(),
    messageId: text('message_id').notNull(),
    eventId: uuid('event_id'),
    status: text('status').notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    sentAt: timestamptz('sent_at'),
  },
  (t) => [
    uniqueIndex('notifications_message_id_key').on(t.messageId),
    index('notifications_created_idx').on(t.createdAt),
    index('notifications_user_idx').on(t.userId, t.createdAt),
    check('notifications_status_check', sql`${t.status} in ('queued', 'sent', 'failed', 'suppressed')`),
  ],
);

/** Operator overrides of the built-in templates (subject, HTML and text), by template name. */
export const emailTemplates = pgTable('email_templates', {
  template: text('template').primaryKey(),
  subject: text('subject').notNull(),
  html: text('html').notNull(),
  text: text('text').notNull(),
  updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  updatedBy: uuid('updated_by'),
});
