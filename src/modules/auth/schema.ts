import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { timestamptz } from '../../platform/db/columns.js';

/** A user's secrets: password hash and second factor. One row per user. */
export const credentials = pgTable('auth_credentials', {
  userId: uuid('user_id').primaryKey(),
  passwordHash: text('password_hash').notNull(),
  passwordChangedAt: timestamptz('password_changed_at').notNull().defaultNow(),
  /** Sealed (SecretBox) TOTP secret; set while enrolling, active once totpEnabledAt is set. */
  totpSecret: text('totp_secret'),
  totpEnabledAt: timestamptz('totp_enabled_at'),
  /** SHA-256 hashes of unused recovery codes. */
  recoveryCodes: jsonb('recovery_codes').$type<string[]>().notNull().default([]),
  /** Last accepted TOTP time step, so a code is never accepted twice. */
  totpLastStep: integer('totp_last_step'),
});

/** A sign-in session: one refresh-token family. Revoking it ends the session everywhere. */
export const sessions = pgTable(
  'auth_sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    lastUsedAt: timestamptz('last_used_at').notNull().defaultNow(),
    expiresAt: timestamptz('expires_at').notNull(),
    revokedAt: timestamptz('revoked_at'),
    revokedReason: text('revoked_reason'),
    ip: text('ip'),
    userAgent: text('user_agent'),
  },
  (t) => [index('auth_sessions_user_idx').on(t.userId, t.createdAt)],
);

/** Every refresh token ever issued in a session; a token is used at most once. */
export const refreshTokens = pgTable(
  'auth_refresh_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    usedAt: timestamptz('used_at'),
  },
  (t) => [index('auth_refresh_tokens_session_idx').on(t.sessionId)],
);

/** RS256 signing keys. The newest unretired key signs; retired keys stay published until their tokens expire. */
export const signingKeys = pgTable('auth_signing_keys', {
  kid: text('kid').primaryKey(),
  privateKey: text('private_key').notNull(),
  publicJwk: jsonb('public_jwk').$type<Record<string, unknown>>().notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  retiredAt: timestamptz('retired_at'),
});

/** Single-use tokens sent by e-mail (verification, password reset), stored hashed. */
export const emailTokens = pgTable(
  'auth_email_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    userId: uuid('user_id').notNull(),
    purpose: text('purpose').$type<'verify_email' | 'reset_password'>().notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    expiresAt: timestamptz('expires_at').notNull(),
    usedAt: timestamptz('used_at'),
  },
  (t) => [index('auth_email_tokens_user_idx').on(t.userId, t.purpose)],
);

/** The pending second step of a sign-in that needs a TOTP code. */
export const mfaChallenges = pgTable('auth_mfa_challenges', {
  id: uuid('id').primaryKey().defaultRandom(),
  userId: uuid('user_id').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  expiresAt: timestamptz('expires_at').notNull(),
  usedAt: timestamptz('used_at'),
  attempts: integer('attempts').notNull().default(0),
});

/** OAuth 2.0 confidential clients (client_credentials grant), created by admins. */
export const apiClients = pgTable(
  'auth_api_clients',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clientId: text('client_id').notNull().unique(),
    name: text('name').notNull(),
    secretHash: text('secret_hash').notNull(),
    permissions: jsonb('permissions').$type<string[]>().notNull(),
    createdBy: uuid('created_by'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    lastUsedAt: timestamptz('last_used_at'),
    revokedAt: timestamptz('revoked_at'),
  },
  (t) => [
    index('auth_api_clients_created_idx').on(t.createdAt),
    index('auth_api_clients_active_idx').on(sql`${t.revokedAt}`),
  ],
);
