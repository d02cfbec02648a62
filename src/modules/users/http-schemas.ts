import { z } from 'zod';
import { envelope, listEnvelope, paginationQuery } from '../../platform/http/envelope.js';
import { roles } from '../../platform/security/permissions.js';
import type { User } from './service.js';

export const userSchema = z
  .object({
    id: z.uuid(),
    email: z.email().max(254),
    name: z.string().max(200),
    role: z.enum(roles),
    status: z.enum(['active', 'deactivated', 'erased']),
    email_verified: z.boolean(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .meta({ id: 'User', description: 'A user account as clients see it (never secrets).' });

export type UserDto = z.infer<typeof userSchema>;

export function toUserDto(user: User): UserDto {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role as UserDto['role'],
    status: user.status as UserDto['status'],
    email_verified: user.emailVerifiedAt !== null,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}

const name = z.string().trim().min(1).max(200).meta({ example: 'Ada Lovelace' });

/** What a user may change about themselves. Role and status are not here: no mass assignment. */
export const updateMeBody = z
  .strictObject({ name: name.optional(), email: z.email().max(254).optional() })
  .meta({ id: 'UpdateMe', description: 'Profile fields the signed-in user may change.' });

export const preferencesSchema = z
  .strictObject({
    locale: z
      .string()
      .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/)
      .max(35)
      .meta({ example: 'en-GB' }),
    timezone: z
      .string()
      .regex(/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/)
      .max(64)
      .meta({ example: 'Europe/Berlin' }),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/)
      .length(3)
      .meta({ description: 'ISO 4217 code.', example: 'EUR' }),
    marketing_emails: z.boolean().meta({ description: 'Opt-in to non-transactional e-mail.' }),
  })
  .meta({
    id: 'Preferences',
    description: 'A user’s preferences: locale, time zone, currency and marketing e-mails.',
  });

export const userIdParams = z.strictObject({ id: z.uuid() });

export const userSearchQuery = z.strictObject({
  ...paginationQuery,
  q: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .optional()
    .meta({ description: 'Matches e-mail or name (substring, case-insensitive).' }),
  role: z.enum(roles).optional(),
  status: z.enum(['active', 'deactivated', 'erased']).optional(),
  sort: z
    .enum(['created_at', '-created_at', 'email', '-email', 'name', '-name'])
    .default('-created_at')
    .meta({ description: 'Sort field; `-` for descending.' }),
});

export const adminUpdateUserBody = z
  .strictObject({
    name: name.optional(),
    role: z.enum(roles).optional(),
    status: z.enum(['active', 'deactivated']).optional(),
  })
  .meta({ id: 'AdminUpdateUser', description: 'User fields an administrator may change, such as the role.' });

export const userEnvelope = envelope(userSchema);
export const userList = listEnvelope(userSchema);
export const preferencesEnvelope = envelope(preferencesSchema);
export const exportEnvelope = envelope(
  z
    .record(z.string().max(100), z.unknown())
    .meta({ description: 'Everything Bazaar holds about you, by module.' }),
);
