import { and, count, desc, eq, gte, inArray, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import { allOf, type Context } from '../../platform/context.js';
import { notFound, validation } from '../../platform/errors.js';
import { authorizeOrder } from './policy.js';
import {
  findOrder,
  findOrderRow,
  parseOrderNumber,
  statusHistory,
  withLines,
  type OrderRecord,
  type OrderRow,
  type OrderSummary,
  type StatusChange,
} from './records.js';
import { orders } from './schema.js';
import type { OrderStatus } from './status.js';

export interface OrderListQuery {
  /** Whose orders: one customer's, or (staff) everyone's. */
  userId?: string;
  statuses?: OrderStatus[];
  createdFrom?: Date;
  createdTo?: Date;
  /** An order number (`BZ-100001`) or the start of an e-mail address. */
  q?: string;
  page: number;
  perPage: number;
  /** Keyset cursor from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface OrderListPage {
  rows: OrderRecord[];
  total: number;
  page: number;
  nextCursor: string | null;
}

const encodeCursor = (sequence: number) => Buffer.from(`n:${sequence}`).toString('base64url');

function decodeCursor(cursor: string): number {
  const match = /^n:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw validation('cursor', 'is not a cursor of this list; use links.next as given');
  return Number(match[1]);
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

function searchCondition(q: string): SQL | undefined {
  const text = q.trim().toLowerCase();
  if (!text) return undefined;
  const sequence = parseOrderNumber(text);
  const byEmail = sql`${orders.email} like ${`${escapeLike(text)}%`}`;
  return sequence === undefined ? byEmail : or(eq(orders.number, sequence), byEmail);
}

/**
 * A page of orders, newest first (by order number, which also makes the keyset cursor exact).
 * Filters combine with AND. Pages by `page` or, for deep pages, by `cursor`.
 */
export async function listOrders(ctx: Context, query: OrderListQuery): Promise<OrderListPage> {
  const filters: (SQL | undefined)[] = [];
  if (query.userId) filters.push(eq(orders.userId, query.userId));
  if (query.statuses?.length) filters.push(inArray(orders.status, query.statuses));
  if (query.createdFrom) filters.push(gte(orders.createdAt, query.createdFrom));
  if (query.createdTo) filters.push(lte(orders.createdAt, query.createdTo));
  if (query.q) filters.push(searchCondition(query.q));
  const where = and(...filters);

  let page = query.page;
  let pageWhere = where;
  let offset = (query.page - 1) * query.perPage;
  if (query.cursor) {
    const after = decodeCursor(query.cursor);
    pageWhere = and(where, lt(orders.number, after));
    offset = 0;
    const [before] = await ctx.db
      .select({ value: count() })
      .from(orders)
      .where(and(where, gte(orders.number, after)));
    page = Math.floor((before?.value ?? 0) / query.perPage) + 1;
  }

  const [rows, [total]] = await Promise.all([
    ctx.db
      .select()
      .from(orders)
      .where(pageWhere)
      .orderBy(desc(orders.number))
      .limit(query.perPage + 1)
      .offset(offset),
    ctx.db.select({ value: count() }).from(orders).where(where),
  ]);
  const more = rows.length > query.perPage;
  const pageRows = rows.slice(0, query.perPage);
  return {
    rows: await withLines(ctx.db, pageRows),
    total: total?.value ?? 0,
    page,
    nextCursor: more ? encodeCursor(pageRows[pageRows.length - 1]!.number) : null,
  };
}

/** The order if the actor may see it (its customer, or staff with `orders:read`); else NOT_FOUND. */
export async function getOrderForActor(ctx: Context, orderId: string): Promise<OrderSummary> {
  const order = await findOrder(ctx, orderId);
  if (!order) throw notFound('Order');
  authorizeOrder(ctx.actor, order, 'read');
  return order;
}

/** The order without any access check, for system work (webhooks, invoices, mail). */
export async function getOrderById(ctx: Context, orderId: string): Promise<OrderSummary | undefined> {
  return findOrder(ctx, orderId);
}

/** An order with its status history, as the order routes answer it. */
export interface OrderDetail {
  order: OrderRecord;
  history: StatusChange[];
}

async function detailOf(ctx: Context, row: OrderRow): Promise<OrderDetail> {
  const [[order], history] = await allOf([withLines(ctx.db, [row]), statusHistory(ctx, row.id)]);
  return { order: order!, history };
}

/** The order with lines and history, read in the caller's context; no access check. */
export async function orderDetail(ctx: Context, orderId: string): Promise<OrderDetail> {
  const row = await findOrderRow(ctx.db, orderId);
  if (!row) throw notFound('Order');
  return detailOf(ctx, row);
}
