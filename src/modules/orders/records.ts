import { asc, eq, inArray, sql } from 'drizzle-orm';
import type { Context } from '../../platform/context.js';
import type { Executor } from '../../platform/db/client.js';
import { prepared, preparedForIds } from '../../platform/db/prepared.js';
import { isUuid } from '../../platform/ids.js';
import { orderItems, orders, orderStatusHistory, type ShippingAddress } from './schema.js';
import type { OrderStatus } from './status.js';

/** An order row as stored. */
export type OrderRow = typeof orders.$inferSelect;
type OrderItemRow = typeof orderItems.$inferSelect;
type HistoryRow = typeof orderStatusHistory.$inferSelect;

export interface OrderLine {
  variantId: string;
  sku: string;
  title: string;
  options: Record<string, string>;
  quantity: number;
  unitPrice: number;
  lineTotal: number;
}

/** An order as other modules see it (payments, notifications): money in minor units of `currency`. */
export interface OrderSummary {
  id: string;
  /** `BZ-100001`, `BZ-100002`, …: what customers and staff quote. */
  number: string;
  userId: string;
  email: string;
  status: OrderStatus;
  currency: string;
  subtotal: number;
  shippingTotal: number;
  taxTotal: number;
  total: number;
  refundedTotal: number;
  shippingAddress: ShippingAddress;
  items: OrderLine[];
  createdAt: Date;
  paidAt: Date | null;
}

/** Everything the orders module shows about an order. */
export interface OrderRecord extends OrderSummary {
  trackingNumber: string | null;
  carrier: string | null;
  holdExpiresAt: Date | null;
  cancelledAt: Date | null;
  updatedAt: Date;
}

/** One row of the status history. */
export interface StatusChange {
  from: OrderStatus | null;
  to: OrderStatus;
  at: Date;
  actorType: string;
  actorId: string | null;
  note: string | null;
}

const NUMBER_OFFSET = 100_000;

/** The sequence value 1 is order `BZ-100001`. */
export function formatOrderNumber(sequence: number): string {
  return `BZ-${NUMBER_OFFSET + sequence}`;
}

/** The sequence value behind `BZ-100001` (or `100001`); undefined when it is not an order number. */
export function parseOrderNumber(text: string): number | undefined {
  const match = /^(?:BZ-?)?(\d{6,15})$/i.exec(text.trim());
  if (!match) return undefined;
  const sequence = Number(match[1]) - NUMBER_OFFSET;
  return sequence >= 1 && Number.isSafeInteger(sequence) ? sequence : undefined;
}

/** Rows with their lines, in one query for all of them; keeps the order of `rows`. */
export async function withLines(db: Executor, rows: OrderRow[]): Promise<OrderRecord[]> {
  if (rows.length === 0) return [];
  const lines = await linesOf(
    db,
    rows.map((r) => r.id),
  );
  const byOrder = new Map<string, OrderItemRow[]>();
  for (const line of lines) byOrder.set(line.orderId, [...(byOrder.get(line.orderId) ?? []), line]);
  return rows.map((row) => toRecord(row, byOrder.get(row.id) ?? []));
}

/** The row and its lines (in their order) as one record. */
export function toRecord(row: OrderRow, lines: OrderItemRow[]): OrderRecord {
  const items = lines.map((line) => ({
    variantId: line.variantId,
    sku: line.sku,
    title: line.title,
    options: line.options,
    quantity: line.quantity,
    unitPrice: line.unitPrice,
    lineTotal: line.lineTotal,
  }));
  return {
    id: row.id,
    number: formatOrderNumber(row.number),
    userId: row.userId,
    email: row.email,
    status: row.status as OrderStatus,
    currency: row.currency,
    subtotal: row.subtotal,
    shippingTotal: row.shippingTotal,
    taxTotal: row.taxTotal,
    total: row.total,
    refundedTotal: row.refundedTotal,
    shippingAddress: row.shippingAddress,
    items,
    createdAt: row.createdAt,
    paidAt: row.paidAt,
    trackingNumber: row.trackingNumber,
    carrier: row.carrier,
    holdExpiresAt: row.holdExpiresAt,
    cancelledAt: row.cancelledAt,
    updatedAt: row.updatedAt,
  };
}

/** The stored row, or undefined (also for ids that are not UUIDs, so probing never errors). */
export async function findOrderRow(db: Executor, orderId: string): Promise<OrderRow | undefined> {
  if (!isUuid(orderId)) return undefined;
  const [row] = await orderById(db, { id: orderId });
  return row;
}

/** The order with its lines; no access check. */
export async function findOrder(ctx: Context, orderId: string): Promise<OrderRecord | undefined> {
  const row = await findOrderRow(ctx.db, orderId);
  return row ? (await withLines(ctx.db, [row]))[0] : undefined;
}

/** The order's status changes, oldest first. */
export async function statusHistory(ctx: Context, orderId: string): Promise<StatusChange[]> {
  const rows = await historyOf(ctx.db, { orderId });
  return rows.map(historyEntry);
}

/** Writes one row of the status history and returns it. */
export async function recordStatusChange(
  db: Executor,
  change: {
    orderId: string;
    userId: string;
    from: OrderStatus | null;
    to: OrderStatus;
    actorType: string;
    actorId: string | null;
    note: string | null;
  },
): Promise<HistoryRow> {
  const [row] = await insertStatusChange(db, change);
  return row!;
}

// The reads of every order page and status change, and the history's insert, built once.
const orderById = prepared((db) =>
  db
    .select()
    .from(orders)
    .where(eq(orders.id, sql.placeholder('id')))
    .limit(1)
    .prepare('orders_by_id'),
);

const linesOf = preparedForIds(32, (db, idIn, name) =>
  db
    .select()
    .from(orderItems)
    .where(idIn(orderItems.orderId))
    .orderBy(asc(orderItems.orderId), asc(orderItems.position))
    .prepare(`order_items_of_${name}`),
);

const historyOf = prepared((db) =>
  db
    .select()
    .from(orderStatusHistory)
    .where(eq(orderStatusHistory.orderId, sql.placeholder('orderId')))
    .orderBy(asc(orderStatusHistory.id))
    .prepare('order_status_history_of'),
);

const insertStatusChange = prepared((db) =>
  db
    .insert(orderStatusHistory)
    .values({
      orderId: sql.placeholder('orderId'),
      userId: sql.placeholder('userId'),
      fromStatus: sql.placeholder('from'),
      toStatus: sql.placeholder('to'),
      actorType: sql.placeholder('actorType'),
      actorId: sql.placeholder('actorId'),
      note: sql.placeholder('note'),
    })
    .returning()
    .prepare('order_status_history_insert'),
);

export function historyEntry(r: HistoryRow): StatusChange {
  return {
    from: r.fromStatus as OrderStatus | null,
    to: r.toStatus as OrderStatus,
    at: r.createdAt,
    actorType: r.actorType,
    actorId: r.actorId,
    note: r.note,
  };
}

/** Every order of a user with lines and history, oldest first (data export). */
export async function ordersOfUser(db: Executor, userId: string) {
  const rows = await db
    .select()
    .from(orders)
    .where(eq(orders.userId, userId))
    .orderBy(asc(orders.createdAt), asc(orders.id));
  const records = await withLines(db, rows);
  const history = rows.length
    ? await db
        .select()
        .from(orderStatusHistory)
        .where(
          inArray(
            orderStatusHistory.orderId,
            rows.map((r) => r.id),
          ),
        )
        .orderBy(asc(orderStatusHistory.id))
    : [];
  return records.map((record) => ({
    record,
    history: history.filter((h) => h.orderId === record.id),
  }));
}
