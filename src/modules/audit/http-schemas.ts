import { z } from 'zod';
import { listEnvelope, paginationQuery } from '../../platform/http/envelope.js';

export const auditQuery = z.strictObject({
  ...paginationQuery,
  actor_id: z.uuid().optional().meta({ description: 'Only entries by this actor.' }),
  action: z
    .string()
    .max(100)
    .regex(/^[\w.:-]+$/)
    .optional()
    .meta({ description: 'Action name, e.g. `auth.login_failed`.', example: 'user.role_changed' }),
  target_type: z
    .string()
    .max(50)
    .regex(/^[\w.-]+$/)
    .optional(),
  target_id: z
    .string()
    .max(100)
    .regex(/^[\w.:@-]+$/)
    .optional(),
  from: z.iso.datetime().optional().meta({ description: 'Entries at or after this time (ISO 8601).' }),
  to: z.iso.datetime().optional().meta({ description: 'Entries at or before this time (ISO 8601).' }),
  order: z.enum(['asc', 'desc']).default('desc'),
});

export const auditEntry = z
  .object({
    id: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
    occurred_at: z.iso.datetime(),
    actor_type: z.enum(['user', 'client', 'anonymous', 'system']),
    actor_id: z.uuid().nullable(),
    action: z.string().max(100),
    target_type: z.string().max(50).nullable(),
    target_id: z.string().max(100).nullable(),
    request_id: z.string().max(128).nullable(),
    ip: z.string().max(64).nullable(),
    diff: z.record(z.string().max(100), z.object({ from: z.unknown(), to: z.unknown() })).nullable(),
    metadata: z.record(z.string().max(100), z.unknown()).nullable(),
  })
  .meta({
    id: 'AuditEntry',
    description: 'One sensitive action: who did what to which record, when, with the change.',
  });

export const auditList = listEnvelope(auditEntry);
