import { and, asc, count, desc, eq, gte, lte, type SQL } from 'drizzle-orm';
import type { Context } from '../../platform/context.js';
import { auditLog } from './schema.js';

export interface AuditEntry {
  action: string;
  targetType?: string;
  targetId?: string;
  /** `{ field: { from, to } }` for changes; never secrets. */
  diff?: Record<string, { from: unknown; to: unknown }>;
  metadata?: Record<string, unknown>;
  /** Who acted when the request has no authenticated actor yet (e.g. a sign-in). */
  actorId?: string;
}

/**
 * Records a sensitive action. Call it with the context of the transaction that performs the
 * action, so the entry exists exactly when the action happened.
 */
export async function recordAudit(ctx: Context, entry: AuditEntry): Promise<void> {
  const actorId = entry.actorId ?? ctx.actor?.id ?? null;
  await ctx.db.insert(auditLog).values({
    actorType: ctx.actor?.kind ?? (actorId ? 'user' : 'anonymous'),
    actorId,
    action: entry.action,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    requestId: ctx.requestId,
    ip: ctx.ip || null,
    diff: entry.diff ?? null,
    metadata: entry.metadata ?? null,
  });
}

/** The changed fields between two snapshots, in the shape `recordAudit` stores. */
export function diffOf<T extends Record<string, unknown>>(before: T, after: Partial<T>) {
  const diff: Record<string, { from: unknown; to: unknown }> = {};
  for (const [key, value] of Object.entries(after)) {
    if (value !== undefined && JSON.stringify(before[key]) !== JSON.stringify(value)) {
      diff[key] = { from: before[key] ?? null, to: value };
    }
  }
  return diff;
}

export interface AuditQuery {
  actorId?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  from?: Date;
  to?: Date;
  order: 'asc' | 'desc';
  page: number;
  perPage: number;
}

export async function listAuditLog(ctx: Context, query: AuditQuery) {
  const filters: SQL[] = [];
  if (query.actorId) filters.push(eq(auditLog.actorId, query.actorId));
  if (query.action) filters.push(eq(auditLog.action, query.action));
  if (query.targetType) filters.push(eq(auditLog.targetType, query.targetType));
  if (query.targetId) filters.push(eq(auditLog.targetId, query.targetId));
  if (query.from) filters.push(gte(auditLog.occurredAt, query.from));
  if (query.to) filters.push(lte(auditLog.occurredAt, query.to));
  const where = filters.length ? and(...filters) : undefined;
  const order = query.order === 'asc' ? asc(auditLog.id) : desc(auditLog.id);
  const [rows, [total]] = await Promise.all([
    ctx.db
      .select()
      .from(auditLog)
      .where(where)
      .orderBy(order)
      .limit(query.perPage)
      .offset((query.page - 1) * query.perPage),
    ctx.db.select({ value: count() }).from(auditLog).where(where),
  ]);
  return { rows, total: total?.value ?? 0 };
}
