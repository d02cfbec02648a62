import { sql } from 'drizzle-orm';
import { check, index, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { timestamptz } from '../../platform/db/columns.js';

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    name: text('name').notNull(),
    role: text('role').notNull().default('user'),
    status: text('status').notNull().default('active'),
    emailVerifiedAt: timestamptz('email_verified_at'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
    erasedAt: timestamptz('erased_at'),
  },
  (t) => [
    uniqueIndex('users_email_key').on(sql`lower(${t.email})`),
    index('users_created_at_idx').on(t.createdAt),
    index('users_name_trgm_idx').using('gin', sql`lower(${t.name}) gin_trgm_ops`),
    index('users_email_trgm_idx').using('gin', sql`lower(${t.email}) gin_trgm_ops`),
    check('users_role_check', sql`${t.role} in ('admin', 'user', 'guest')`),
    check('users_status_check', sql`${t.status} in ('active', 'deactivated', 'erased')`),
  ],
);

export const userPreferences = pgTable('user_preferences', {
  userId: uuid('user_id').primaryKey(),
  preferences: jsonb('preferences').notNull().default({}),
  updatedAt: timestamptz('updated_at').notNull().defaultNow(),
});
